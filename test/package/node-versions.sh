#!/usr/bin/env bash
# The package tests on every Node version package.json's engines.node names.
#
# engines.node is a list of caret ranges (`^20.3.0 || ^22.0.0 || ...`; pack.test.ts checks the
# form). For each major in it, test/package/*.test.ts (the packed tarball loaded from CJS and ESM
# consumers in Express 4 and 5 hosts and type-checked, and the CJS/ESM error identity) runs on the
# newest release of that major. The lowest version listed (20.3.0) cannot run the TypeScript test
# runner (`--import tsx` needs Node 20.6), so there pack.test.ts runs on the default node and only
# its consumer scripts run on that version (PACK_TEST_NODE).
#
# Node binaries come from the npm registry's `node` package (`npx -y node@22`), which downloads
# the official binary for this platform: Debian bookworm's own nodejs is 18, below the floor.
set -euo pipefail
cd "$(dirname "$0")/../.."

range="$(node -p 'require("./package.json").engines.node')"
versions="$(node -p 'require("./package.json").engines.node.split("||").map((a) => a.trim().replace(/^\^/, "")).join(" ")')"
floor="$(node -p 'require("./package.json").engines.node.split("||").map((a) => a.trim().replace(/^\^/, "")).sort((a, b) => a.localeCompare(b, "en", { numeric: true }))[0]')"
echo "engines.node: $range"

npm run build
for version in $versions; do
  major="${version%%.*}"
  echo "== test/package on node@$major ($(npx -y "node@$major" --version))"
  npx -y "node@$major" --import tsx --test test/package/*.test.ts
done

floor_node="$(npx -y "node@$floor" -p process.execPath)"
echo "== pack.test.ts consumers on node@$floor ($floor_node), runner on $(node --version)"
PACK_TEST_NODE="$floor_node" node --import tsx --test test/package/pack.test.ts
