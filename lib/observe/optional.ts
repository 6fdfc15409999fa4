/**
 * The optional peer dependencies (`@opentelemetry/api`, `prom-client`), loaded with a dynamic
 * `import()` the first time they are asked for: a host without them installs nothing and loads
 * nothing, and `import()` resolves from this package's own location in both the ESM and the CJS
 * build. A module that is not installed resolves to undefined; each is loaded once.
 */

/** The optional peers, by the name they are imported as. */
export type OptionalPeer = '@opentelemetry/api' | 'prom-client';

const loads = new Map<OptionalPeer, Promise<unknown>>();

/**
 * The module, or undefined when it is not installed (or fails to load). A CommonJS module's
 * exports are returned whole (its `default` when the named exports are not hoisted).
 */
export function loadOptional<T>(name: OptionalPeer): Promise<T | undefined> {
  let load = loads.get(name);
  if (load === undefined) {
    load = import(name).then(
      (mod: Record<string, unknown>) => (Object.keys(mod).length <= 2 && mod.default !== undefined ? mod.default : mod),
      () => undefined,
    );
    loads.set(name, load);
  }
  return load as Promise<T | undefined>;
}
