/**
 * The link between captured plans and pg_querylens planids.
 *
 * pg_querylens gives every execution record a planid computed from the executor's plan tree, and
 * `pg_querylens_explain_planid()` returns that id for the last plan EXPLAINed (without ANALYZE) in
 * the calling session. Where the function exists in a database and the collector's role may run
 * it, plan capture calls it right after each EXPLAIN, in the same transaction, so a captured plan
 * and the records of its executions carry one identity.
 *
 * @module
 */

import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { quoteIdent } from "../qpm/context.ts";

/** Name of the extension that computes planids. */
export const PLANID_EXTENSION = "pg_querylens";

/** Name of its function returning the planid of the last EXPLAINed plan. */
export const EXPLAIN_PLANID_FUNCTION = "pg_querylens_explain_planid";

/** Whether EXPLAINed plans of a database get the extension's planid, and why not. */
export type PlanIdLink =
  | { kind: "linked"; fn: string }
  | { kind: "absent"; reason: string }
  | { kind: "no_privilege"; fn: string; role: string }
  | { kind: "failed"; fn: string; reason: string };

/**
 * Probes, on `sql` (a session on the database whose plans are captured), whether the planid
 * function exists in the schema of pg_querylens and whether the session's role may run it.
 */
export async function probePlanIdLink(sql: Sql, caps: Capabilities): Promise<PlanIdLink> {
  const ext = caps.extensions.get(PLANID_EXTENSION);
  if (ext === undefined) {
    return { kind: "absent", reason: `extension ${PLANID_EXTENSION} is not created in this database` };
  }
  const rows = await sql.unsafe(
    `${MARKER} SELECT has_function_privilege(p.oid, 'EXECUTE') AS can
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.proname = $1 AND p.pronargs = 0 AND n.nspname = $2`,
    [EXPLAIN_PLANID_FUNCTION, ext.schema],
  );
  if (rows.length === 0) {
    return {
      kind: "absent",
      reason: `extension ${PLANID_EXTENSION} ${ext.version} has no function ${EXPLAIN_PLANID_FUNCTION}()`,
    };
  }
  const fn = `${quoteIdent(ext.schema)}.${EXPLAIN_PLANID_FUNCTION}`;
  return rows[0].can === true ? { kind: "linked", fn } : { kind: "no_privilege", fn, role: caps.role };
}

/**
 * Runs `fn` (a schema-qualified {@link EXPLAIN_PLANID_FUNCTION}) on `sql` and returns the planid as
 * a signed decimal string, or undefined when the session has EXPLAINed nothing.
 */
export async function explainedPlanId(sql: Sql, fn: string): Promise<string | undefined> {
  const rows = await sql.unsafe(`${MARKER} SELECT ${fn}()::text AS planid`);
  const id = rows[0]?.planid;
  return typeof id === "string" ? id : undefined;
}
