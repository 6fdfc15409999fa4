/**
 * The kind of each field of a config or settings type, as joi's `describe()` names the type of
 * the schema that checks it: the `*_SHAPE` constants are written against {@link FieldKinds} of
 * their type (`satisfies`), and test/unit/config-types.test.ts compares them with the joi
 * schemas, so the types and the schemas cannot drift apart.
 */

/** The kind of a value as joi's `describe()` names its type (`enum`: a `valid()` list). */
export type FieldKind = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'function' | 'alternatives' | 'enum';

type KindOfMember<V> = V extends string
  ? string extends V
    ? 'string'
    : 'enum'
  : V extends number
    ? 'number'
    : V extends boolean
      ? 'boolean'
      : V extends readonly unknown[]
        ? 'array'
        : V extends (...args: never[]) => unknown
          ? 'function'
          : V extends object
            ? 'object'
            : never;
type IsUnion<T, All = T> = T extends unknown ? ([All] extends [T] ? false : true) : never;
type KindOf<V> = true extends IsUnion<KindOfMember<V>> ? 'alternatives' : KindOfMember<V>;

/**
 * For each key of `T`, the kind of its value; for an enum, its values. Used with `satisfies`,
 * a missing key, an extra key or a different kind is a compile error.
 */
export type FieldKinds<T> = {
  readonly [K in keyof T]-?: KindOf<NonNullable<T[K]>> extends 'enum' ? readonly NonNullable<T[K]>[] : KindOf<NonNullable<T[K]>>;
};
