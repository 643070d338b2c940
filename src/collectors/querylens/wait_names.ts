/**
 * Names of raw `wait_event_info` values (`Type:Event`), asked of the server through the extension's
 * `pg_querylens_wait_event_name()` (the names differ between server versions) and cached: each
 * value is resolved once per collector.
 *
 * @module
 */

import { MARKER } from "../../query_engine/marker.ts";
import type { Session } from "../../query_engine/connection.ts";

/** Most distinct values kept; beyond it the cache starts over. */
export const MAX_CACHED_WAIT_EVENTS = 4096;

/** A cache of wait event names of one server. */
export class WaitEventNames {
  readonly #sql: Session;
  readonly #schema: string;
  readonly #names = new Map<number, string | undefined>();

  /**
   * @param sql session on a database where the extension is created
   * @param schema the extension's schema
   */
  constructor(sql: Session, schema: string) {
    this.#sql = sql;
    this.#schema = schema;
  }

  /** Resolves the values not yet known (0 means no wait and is skipped) in one statement. */
  async resolve(infos: Iterable<number>): Promise<void> {
    const missing = [...new Set(infos)].filter((i) => i !== 0 && !this.#names.has(i));
    if (missing.length === 0) return;
    if (this.#names.size + missing.length > MAX_CACHED_WAIT_EVENTS) this.#names.clear();
    const schema = `"${this.#schema.replaceAll('"', '""')}"`;
    const rows = await this.#sql.unsafe(
      `${MARKER} SELECT i AS info, n.wait_event_type, n.wait_event
       FROM unnest($1::int[]) AS i, LATERAL ${schema}.pg_querylens_wait_event_name(i) AS n`,
      [`{${missing.join(",")}}`],
    );
    for (const i of missing) this.#names.set(i, undefined);
    for (const r of rows) {
      if (r.wait_event_type !== null && r.wait_event !== null) {
        this.#names.set(Number(r.info), `${r.wait_event_type}:${r.wait_event}`);
      }
    }
  }

  /** The name of a resolved value, undefined for 0 and unknown values. */
  name(info: number): string | undefined {
    return this.#names.get(info);
  }
}
