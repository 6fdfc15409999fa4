import { defineConfig } from 'tsup';

export default defineConfig({
  // The main entry, and `express-llm-fallback/redis` (the Redis stores), which a host without
  // Redis never loads.
  entry: ['lib/index.ts', 'lib/redis.ts'],
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
