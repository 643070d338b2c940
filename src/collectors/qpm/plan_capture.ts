/**
 * Plan capture: EXPLAIN (FORMAT JSON) that can never execute a statement.
 *
 * Safety, in layers: the text must parse as exactly one SELECT/INSERT/UPDATE/DELETE/MERGE
 * (`explainableStatement`); it is sent with the extended protocol, which refuses several statements
 * in one message (generic plans: see `checkedSingle`); it runs inside a READ ONLY transaction with its own `statement_timeout`; and
 * EXPLAIN is never given ANALYZE. Parameterized texts (`$1`) get a generic plan:
 * `EXPLAIN (GENERIC_PLAN)` on 16+, `PREPARE` + `EXPLAIN EXECUTE` with
 * `plan_cache_mode = force_generic_plan` before (see `checkedPrepare`).
 *
 * Results, failures included, are cached per (database, text) with a TTL and an LRU bound, and at
 * most `maxPerCycle` new EXPLAINs run per cycle.
 *
 * @module
 */

import type { ExplainConfig } from "../../config/types.ts";
import type { CapabilityCache } from "../../query_engine/capabilities.ts";
import type { ConnectionManager, Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { explainableStatement, statementKinds } from "../../query_engine/sql_text.ts";
import { type ExplainNode, planShapeId } from "./plan_shape.ts";

/** A captured plan or the reason there is none. */
export type PlanResult =
  | { ok: true; root: ExplainNode; planId: string }
  | { ok: false; reason: string };

interface CacheEntry {
  expires: number;
  result: PlanResult;
}

const PREPARED_NAME = "pgquerylens_plan";

/** Captures and caches plans. */
export class PlanCapture {
  readonly #connections: ConnectionManager;
  readonly #caps: CapabilityCache;
  readonly #cfg: ExplainConfig;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #maxEntries: number;
  #budget = 0;
  /** EXPLAINs run since start. */
  explains = 0;
  /** Lookups answered from the cache since start. */
  cacheHits = 0;
  /** Lookups refused because the per-cycle budget was spent. */
  overBudget = 0;

  /**
   * @param connections per-database sessions
   * @param caps capability cache (for the server version)
   * @param cfg EXPLAIN settings
   * @param maxEntries most cached plans
   */
  constructor(connections: ConnectionManager, caps: CapabilityCache, cfg: ExplainConfig, maxEntries = 2000) {
    this.#connections = connections;
    this.#caps = caps;
    this.#cfg = cfg;
    this.#maxEntries = maxEntries;
  }

  /** Starts a cycle: resets the per-cycle EXPLAIN budget. */
  beginCycle(): void {
    this.#budget = this.#cfg.maxPerCycle;
  }

  /** The plan of `text` in `database`, from the cache or by running EXPLAIN. */
  async planFor(database: string, text: string, now = Date.now()): Promise<PlanResult> {
    const key = `${database}\u0000${text}`;
    const hit = this.#cache.get(key);
    if (hit && hit.expires > now) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      this.cacheHits++;
      return hit.result;
    }
    if (this.#budget <= 0) {
      this.overBudget++;
      return { ok: false, reason: "EXPLAIN budget for this cycle spent" };
    }
    this.#budget--;
    const result = await this.#explain(database, text);
    this.#cache.set(key, { expires: now + this.#cfg.cacheTtlSeconds * 1000, result });
    while (this.#cache.size > this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value as string);
    return result;
  }

  async #explain(database: string, text: string): Promise<PlanResult> {
    const check = explainableStatement(text);
    if (!check.ok) return { ok: false, reason: check.reason };
    this.explains++;
    try {
      const sql = this.#connections.sql(database, "explain");
      const { caps } = await this.#caps.get(database, this.#connections.sql(database));
      const plan = await runExplain(
        sql,
        check.statement,
        check.paramCount,
        caps.version.major,
        this.#cfg.timeoutMs,
      );
      return { ok: true, root: plan, planId: planShapeId(plan) };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }
}

/**
 * Returns `text` if it parses as exactly one statement of `kind`. Texts whose `$n` must stay
 * unbound (a generic plan) cannot use the extended protocol, which would bind them and fold the
 * values into the plan; they go as a simple query after this check, which gives the same
 * one-statement guarantee.
 */
function checkedSingle(text: string, kind: string): string {
  if (statementKinds(text).join() !== kind) throw new Error(`not exactly one ${kind}`);
  return text;
}

/**
 * Runs EXPLAIN (FORMAT JSON) of one already-checked statement in a READ ONLY transaction and
 * returns the root plan node. `sql` must be a one-connection client that nothing else uses
 * meanwhile (plan capture has its own session per database), since the transaction spans several
 * statements sent one after another.
 */
export async function runExplain(
  sql: Sql,
  statement: string,
  paramCount: number,
  major: number,
  timeoutMs: number,
): Promise<ExplainNode> {
  const extended = { simple: false } as never;
  const simple = { simple: true } as never;
  const prepared = paramCount > 0 && major < 16;
  const run = (text: string, opts = extended) => sql.unsafe(text, [], opts);
  let rows;
  try {
    await run(`${MARKER} BEGIN READ ONLY`);
    await run(`${MARKER} SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(timeoutMs))}`);
    if (paramCount === 0) {
      rows = await run(`${MARKER} EXPLAIN (FORMAT JSON) ${statement}`);
    } else if (!prepared) {
      rows = await run(
        checkedSingle(`${MARKER} EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${statement}`, "ExplainStmt"),
        simple,
      );
    } else {
      await run(`${MARKER} SET LOCAL plan_cache_mode = force_generic_plan`);
      await run(checkedSingle(`${MARKER} PREPARE ${PREPARED_NAME} AS ${statement}`, "PrepareStmt"), simple);
      const args = Array.from({ length: paramCount }, () => "NULL").join(", ");
      rows = await run(`${MARKER} EXPLAIN (FORMAT JSON) EXECUTE ${PREPARED_NAME}(${args})`);
    }
  } finally {
    await run(`${MARKER} ROLLBACK`).catch(() => {});
    if (prepared) await run(`${MARKER} DEALLOCATE ${PREPARED_NAME}`).catch(() => {});
  }
  const doc = rows[0]?.["QUERY PLAN"];
  const parsed = typeof doc === "string" ? JSON.parse(doc) : doc;
  const root = parsed?.[0]?.Plan as ExplainNode | undefined;
  if (!root) throw new Error("EXPLAIN returned no plan");
  return root;
}
