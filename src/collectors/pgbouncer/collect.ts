/**
 * PgBouncerSample: runs `SHOW STATS` and `SHOW POOLS` on PgBouncer's admin console and maps every
 * row to a sample on its `pgbouncer` entity (see `samples.ts` for the mapping, `catalog.ts` for the
 * metrics).
 *
 * The session must be one fit for the admin console: `ConnectionManager.sql("pgbouncer",
 * PGBOUNCER_CONSOLE)` logs in without settings and uses the simple query protocol, the only one the
 * console speaks. The two commands fail alone: with a `report` sink, a failing command is reported
 * (component `pgbouncer.stats` or `pgbouncer.pools`) and the other's samples are still returned.
 *
 * @module
 */

import type { BaseSample, CollectionIssue } from "../../core/model.ts";
import type { Session } from "../../query_engine/connection.ts";
import { PGBOUNCER_COMMANDS, PGBOUNCER_QUERIES } from "./catalog.ts";
import { pgbouncerSamples } from "./samples.ts";

/**
 * Collects the PgBouncerSamples of the PgBouncer behind `session` (its admin console), for
 * PgBouncer `host`:`port`: the `SHOW STATS` samples (one per database), then the `SHOW POOLS`
 * samples (one per database and user).
 *
 * @param report receives a failing command as an error issue; when absent, the failure is thrown
 * @throws Error when host or port is empty, or a command fails and no `report` is given.
 */
export async function collectPgBouncerSamples(
  session: Session,
  host: string,
  port: string | number,
  report?: (issue: CollectionIssue) => void,
): Promise<BaseSample[]> {
  pgbouncerSamples("stats", [], host, port); // fails on an empty host or port before any I/O
  const out: BaseSample[] = [];
  for (const query of PGBOUNCER_QUERIES) {
    const command = PGBOUNCER_COMMANDS[query];
    let rows;
    try {
      rows = await session.unsafe(command, [], { simple: true });
    } catch (e) {
      const message = `${command} on the PgBouncer admin console at ${host}:${port} failed: ${
        (e as Error).message
      }`;
      if (!report) throw new Error(message, { cause: e });
      report({
        component: `pgbouncer.${query}`,
        cause: `error:${(e as Error).message}`,
        severity: "error",
        message,
      });
      continue;
    }
    out.push(...pgbouncerSamples(query, rows, host, port));
  }
  return out;
}
