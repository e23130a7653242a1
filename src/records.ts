/**
 * Returns an empty object with no prototype, for a map whose keys come from input. On a
 * plain object, assigning the key `__proto__` replaces the prototype instead of adding an
 * entry, and `in` finds inherited names such as `constructor`.
 */
export function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
