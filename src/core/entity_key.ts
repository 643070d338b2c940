/**
 * The SDK entity key of a base entity: `<type>:<name>[:<key>=<value>...]`, identity attributes
 * sorted by key and that attribute part lower-cased. It identifies an entity to the agent and
 * namespaces the counters stored for rate computation.
 *
 * @module
 */

import type { BaseEntity } from "./model.ts";

/**
 * Compares two strings by Unicode code point, which is the byte order of their UTF-8 forms (the
 * order Go uses for strings). Returns a negative number, 0 or a positive number.
 */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * Returns the entity key of `entity`, e.g.
 * `pg-index:idx:host=localhost:pg-database=demo:pg-schema=public:pg-table=t:port=5432`.
 * The type and name keep their case; the id-attribute part is lower-cased.
 *
 * @throws {TypeError} when the entity has an empty type or name (such an entity cannot be keyed).
 */
export function entityKey(entity: BaseEntity): string {
  if (entity.type === "") throw new TypeError(`entity "${entity.name}" has an empty type`);
  if (entity.name === "") throw new TypeError(`entity of type "${entity.type}" has an empty name`);
  const ids = [...entity.idAttributes].sort((a, b) => compareCodePoints(a.key, b.key));
  const attrs = ids.map((a) => `:${a.key}=${a.value}`).join("").toLowerCase();
  return `${entity.type}:${entity.name}${attrs}`;
}
