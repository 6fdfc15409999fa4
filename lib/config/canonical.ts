/**
 * Canonical JSON of a config, for its hash: object keys sorted, so the same config hashes the
 * same whatever its key order. Built with an explicit stack: no nesting can overflow the call
 * stack (configs are depth-limited too, see limits.ts).
 */

/** Text to emit as it is (a bracket, a comma, a key), as opposed to a value still to serialise. */
class Text {
  constructor(readonly text: string) {}
}

/**
 * JSON with object keys sorted. Like `JSON.stringify`, object members whose value is undefined
 * are left out; unlike it, an unserialisable value anywhere (undefined in an array, a function)
 * is `null`.
 */
export function canonicalJson(root: unknown): string {
  const out: string[] = [];
  const work: unknown[] = [root];
  while (work.length > 0) {
    const item = work.pop();
    if (item instanceof Text) {
      out.push(item.text);
    } else if (Array.isArray(item)) {
      work.push(new Text(']'));
      for (let i = item.length - 1; i >= 0; i--) {
        work.push(item[i]);
        if (i > 0) work.push(new Text(','));
      }
      work.push(new Text('['));
    } else if (item !== null && typeof item === 'object') {
      const entries = Object.entries(item as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      work.push(new Text('}'));
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, value] = entries[i]!;
        work.push(value, new Text(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`));
      }
      work.push(new Text('{'));
    } else {
      out.push(JSON.stringify(item) ?? 'null');
    }
  }
  return out.join('');
}
