/**
 * Plan capture: EXPLAIN (FORMAT JSON) that can never execute a statement.
 *
 * Safety, in layers: the text must parse as exactly one SELECT/INSERT/UPDATE/DELETE/MERGE
 * (`explainableStatement`); it is sent with the extended protocol, which refuses several statements
 * in one message (generic plans: see `checkedSingle`); it runs inside a READ ONLY transaction with
 * its own `statement_timeout`; and EXPLAIN is never given ANALYZE. Parameterized texts (`$1`) get a
 * generic plan: `EXPLAIN (GENERIC_PLAN)` on 16+, `PREPARE` + `EXPLAIN EXECUTE` with
 * `plan_cache_mode = force_generic_plan` before.
 *
 * Results, failures included, are cached per (database, text) with a TTL and an LRU bound, and at
 * most `maxPerCycle` new EXPLAINs run per cycle.
 *
 * Plan identity: where pg_querylens's `pg_querylens_explain_planid()` can be run in the database
 * (see `link.ts`), it is called right after the EXPLAIN in the same transaction and the plan's id
 * is the extension's planid, the one its execution records carry; elsewhere it is the shape hash
 * of `plan_shape.ts`.
 *
 * @module
 */

import type { ExplainConfig } from "../../config/types.ts";
import type { Capabilities, CapabilityCache } from "../../query_engine/capabilities.ts";
import type { ConnectionManager, Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { explainableStatement, statementKinds } from "../../query_engine/sql_text.ts";
import { type ExplainNode, planShapeId } from "../qpm/plan_shape.ts";
import { explainedPlanId, type PlanIdLink, probePlanIdLink } from "./link.ts";

/** A captured plan or the reason there is none. */
export type PlanResult =
  | {
    ok: true;
    /** Root node of the EXPLAIN output. */
    root: ExplainNode;
    /** The plan's identity: the extension's planid when `linked`, else `shapeId`. */
    planId: string;
    /** The shape hash of the plan. */
    shapeId: string;
    /** Whether `planId` is pg_querylens's planid. */
    linked: boolean;
  }
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
  readonly #links = new Map<string, { caps: Capabilities; link: PlanIdLink }>();
  readonly #prepared = new Map<string, number>();
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

  /**
   * The EXPLAINs run through `PREPARE` + `EXPLAIN EXECUTE` (parameterized texts before 16) since the
   * previous call, by {@link explainKey}, and forgets them. pg_stat_statements counts each as a call
   * of the explained query, though nothing was executed.
   */
  takePreparedExplains(): Map<string, number> {
    const taken = new Map(this.#prepared);
    this.#prepared.clear();
    return taken;
  }

  /**
   * How plans of `database` are linked to pg_querylens planids, as last probed (undefined before
   * the first EXPLAIN there).
   */
  linkOf(database: string): PlanIdLink | undefined {
    return this.#links.get(database)?.link;
  }

  /**
   * The plan of `text` in `database`, from the cache or by running EXPLAIN. With `refresh`, a cached
   * plan is captured again when the budget allows (and returned as it is when not).
   */
  async planFor(database: string, text: string, now = Date.now(), refresh = false): Promise<PlanResult> {
    const key = explainKey(database, text);
    const hit = this.#cache.get(key);
    const fresh = hit !== undefined && hit.expires > now;
    if (fresh && (!refresh || this.#budget <= 0)) {
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
    this.#cache.delete(key);
    this.#cache.set(key, { expires: now + this.#cfg.cacheTtlSeconds * 1000, result });
    while (this.#cache.size > this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value as string);
    return result;
  }

  #countPrepared(key: string): void {
    const n = this.#prepared.get(key) ?? 0;
    this.#prepared.delete(key);
    this.#prepared.set(key, n + 1);
    while (this.#prepared.size > this.#maxEntries) {
      this.#prepared.delete(this.#prepared.keys().next().value as string);
    }
  }

  async #link(database: string, caps: Capabilities): Promise<PlanIdLink> {
    const known = this.#links.get(database);
    if (known && known.caps === caps) return known.link;
    let link: PlanIdLink;
    try {
      link = await probePlanIdLink(this.#connections.sql(database), caps);
    } catch (e) {
      link = { kind: "failed", fn: "", reason: (e as Error).message };
    }
    this.#links.set(database, { caps, link });
    return link;
  }

  async #explain(database: string, text: string): Promise<PlanResult> {
    const check = explainableStatement(text);
    if (!check.ok) return { ok: false, reason: check.reason };
    this.explains++;
    try {
      const sql = this.#connections.sql(database, "explain");
      const { caps } = await this.#caps.get(database, this.#connections.sql(database));
      const link = await this.#link(database, caps);
      const plan = await explainPlan(sql, check.statement, check.paramCount, caps.version.major, {
        timeoutMs: this.#cfg.timeoutMs,
        planIdFunction: link.kind === "linked" ? link.fn : undefined,
      });
      if (check.paramCount > 0 && caps.version.major < 16) this.#countPrepared(explainKey(database, text));
      if (plan.linkError !== undefined && link.kind === "linked") {
        this.#links.set(database, { caps, link: { kind: "failed", fn: link.fn, reason: plan.linkError } });
      }
      const shapeId = planShapeId(plan.root);
      const linked = plan.extensionPlanId !== undefined;
      return { ok: true, root: plan.root, planId: plan.extensionPlanId ?? shapeId, shapeId, linked };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }
}

/** The key of a text of a database in the cache and in {@link PlanCapture.takePreparedExplains}. */
export function explainKey(database: string, text: string): string {
  return `${database}\u0000${text}`;
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

/** How {@link explainPlan} runs. */
export interface ExplainOptions {
  /** `statement_timeout` of the EXPLAIN, ms. */
  timeoutMs: number;
  /** Schema-qualified `pg_querylens_explain_planid` to call after the EXPLAIN, when linked. */
  planIdFunction?: string;
}

/** An EXPLAIN's root node, with the extension's planid when it was asked for and given. */
export interface ExplainedPlan {
  /** Root plan node. */
  root: ExplainNode;
  /** pg_querylens's planid of the plan (signed decimal), when asked for and known. */
  extensionPlanId?: string;
  /** Why the planid could not be read, when asking for it failed. */
  linkError?: string;
}

/**
 * Runs EXPLAIN (FORMAT JSON) of one already-checked statement in a READ ONLY transaction and
 * returns the root plan node; with `planIdFunction`, calls it after the EXPLAIN in the same
 * transaction for the extension's planid (a failure there is returned, never thrown). `sql` must
 * be a one-connection client that nothing else uses meanwhile (plan capture has its own session
 * per database), since the transaction spans several statements sent one after another.
 */
export async function explainPlan(
  sql: Sql,
  statement: string,
  paramCount: number,
  major: number,
  opts: ExplainOptions,
): Promise<ExplainedPlan> {
  const extended = { simple: false } as never;
  const simple = { simple: true } as never;
  const prepared = paramCount > 0 && major < 16;
  const run = (text: string, options = extended) => sql.unsafe(text, [], options);
  let rows;
  let extensionPlanId: string | undefined;
  let linkError: string | undefined;
  try {
    await run(`${MARKER} BEGIN READ ONLY`);
    await run(`${MARKER} SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(opts.timeoutMs))}`);
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
    if (opts.planIdFunction !== undefined) {
      try {
        extensionPlanId = await explainedPlanId(sql, opts.planIdFunction);
        if (extensionPlanId === undefined) linkError = `${opts.planIdFunction}() returned NULL after EXPLAIN`;
      } catch (e) {
        linkError = (e as Error).message;
      }
    }
  } finally {
    await run(`${MARKER} ROLLBACK`).catch(() => {});
    if (prepared) await run(`${MARKER} DEALLOCATE ${PREPARED_NAME}`).catch(() => {});
  }
  const doc = rows[0]?.["QUERY PLAN"];
  const parsed = typeof doc === "string" ? JSON.parse(doc) : doc;
  const root = parsed?.[0]?.Plan as ExplainNode | undefined;
  if (!root) throw new Error("EXPLAIN returned no plan");
  return { root, extensionPlanId, linkError };
}

/**
 * {@link explainPlan} without the planid link: the root plan node of one already-checked
 * statement.
 */
export async function runExplain(
  sql: Sql,
  statement: string,
  paramCount: number,
  major: number,
  timeoutMs: number,
): Promise<ExplainNode> {
  return (await explainPlan(sql, statement, paramCount, major, { timeoutMs })).root;
}
