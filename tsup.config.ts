import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['lib/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  // No source maps: their `sources` would point at lib/*.ts, which the tarball does not ship, and
  // dist/ is not minified (names and structure survive), so stack traces stay readable without
  // them. test/package/pack.test.ts checks that no .map file and no sourceMappingURL is packed.
  sourcemap: false,
  target: 'node20',
  // express, axios, joi and debug stay external: the host's copies are used.
  external: ['express'],
});
