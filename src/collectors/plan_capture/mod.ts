/**
 * Plan tracking: each cycle, the plans of the top queries by execution time are captured, counted
 * and compared with the plan dictionary, and plan changes are judged and exported once.
 *
 * 1. The top `plan_top_queries` statements by execution time this cycle (`top_queries.ts`). Where
 *    pg_stat_statements cannot tell top-level calls apart (before 14), the `EXPLAIN EXECUTE`s plan
 *    capture ran since the previous cycle are taken off their queries' calls.
 * 2. Their plans, from the shared {@link PlanCapture} (its per-cycle EXPLAIN budget, cache and
 *    pg_querylens link). A cached plan is captured again when the query looks changed: where
 *    pg_querylens is read, its executions ran another plan than the dictionary's current one;
 *    elsewhere, the cycle's mean duration moved by the regression ratio either way.
 * 3. Executions per plan: where pg_querylens is read, its per-plan aggregates of the cycle (exact;
 *    the query's current plan is the one it executed last, and a cycle without its executions
 *    leaves it as it was, since a generic plan EXPLAINed may differ from the custom plans run);
 *    elsewhere, the pg_stat_statements deltas, attributed to the plan captured this cycle (or, when
 *    none could be captured, to the current plan), which is then the current plan.
 * 4. `detection.ts` applies them to the dictionary and judges changes; the snapshot gets
 *    `planChanges` and `planDictionary`.
 *
 * The dictionary is loaded from `temp_dir` at the first cycle and saved at the end of every cycle
 * (`store.ts`). Where pg_querylens is read but captured plans cannot carry its planids (the
 * function is missing or not allowed), captured plans are left out of the dictionary so that one
 * plan keeps one identity.
 *
 * @module
 */

import type { Config } from "../../config/types.ts";
import type { CollectionIssue, QueryLensAggregate, UnifiedMetrics } from "../../core/model.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { extObject } from "../qpm/context.ts";
import type { StatementTextCache } from "../qpm/statement_texts.ts";
import { explainKey, type PlanCapture } from "./capture.ts";
import { createDictionary, type PlanDictionary, queryKey } from "./dictionary.ts";
import { applyCycle, type QueryCycle, type VerdictSettings } from "./detection.ts";
import { aggregatesByQuery, looksChanged, queryCycle } from "./observation.ts";
import { PLANID_EXTENSION } from "./link.ts";
import { loadPlanDictionary, savePlanDictionary } from "./store.ts";
import {
  hasToplevelColumn,
  rankByTimeDelta,
  type RankedStatement,
  readStatementTotals,
} from "./top_queries.ts";

/** A pending plan change is judged with what is known after this long (1 hour). */
export const VERDICT_TIMEOUT_MS = 3_600_000;

/** Statements ranked beyond `plan_top_queries`, in case some have no usable text. */
const RANK_MARGIN = 10;

/** Long-lived parts plan tracking uses. */
export interface PlanTrackerDeps {
  /** Validated configuration. */
  config: Config;
  /** Plan capture, shared with QPM (one EXPLAIN budget and cache). */
  plans: PlanCapture;
  /** pg_stat_statements texts, shared with QPM. */
  texts: StatementTextCache;
}

/** What one cycle gives plan tracking. */
export interface PlanCycleInput {
  /** Session on the monitored database (pg_stat_statements is read there). */
  sql: Sql;
  /** Its capabilities. */
  caps: Capabilities;
  /** Names of the monitored databases. */
  databases: readonly string[];
  /** Issue sink. */
  report(issue: CollectionIssue): void;
}

/** Options of {@link PlanTracker}. */
export interface PlanTrackerOptions {
  /** Age at which a pending change is judged with what is known; {@link VERDICT_TIMEOUT_MS} by default. */
  verdictTimeoutMs?: number;
}

/** Plan tracking for one monitored instance, kept across cycles. */
export class PlanTracker {
  readonly #deps: PlanTrackerDeps;
  readonly #verdict: VerdictSettings;
  #dict: PlanDictionary | undefined;
  #path: string | undefined;
  #toplevel: { caps: Capabilities; has: boolean } | undefined;

  /**
   * @param deps configuration, plan capture and statement texts
   * @param options verdict timeout
   */
  constructor(deps: PlanTrackerDeps, options: PlanTrackerOptions = {}) {
    this.#deps = deps;
    const p = deps.config.plans;
    this.#verdict = {
      ratio: p.regressionRatio,
      minExecutions: p.regressionMinExecutions,
      verdictTimeoutMs: options.verdictTimeoutMs ?? VERDICT_TIMEOUT_MS,
    };
  }

  /** Whether plans are tracked at all (`plan_top_queries` > 0). */
  enabled(): boolean {
    return this.#deps.config.plans.topQueries > 0;
  }

  /** The dictionary, once the first cycle has loaded it. */
  get dictionary(): PlanDictionary | undefined {
    return this.#dict;
  }

  /**
   * Runs plan tracking for one cycle (after QPM, whose EXPLAIN budget it shares) and fills
   * `snap.planChanges` and `snap.planDictionary`. Failures are reported, never thrown.
   */
  async collect(input: PlanCycleInput, snap: UnifiedMetrics): Promise<void> {
    if (!this.enabled()) return;
    const fn = extObject(input.caps, "pg_stat_statements", "pg_stat_statements");
    if (fn === undefined) {
      input.report({
        component: "plans",
        cause: "no_pg_stat_statements",
        severity: "debug",
        message:
          "extension pg_stat_statements is not created in the monitored database: plans are not tracked",
      });
      return;
    }
    const dict = await this.#open(input.report);
    try {
      const nowMs = snap.collectedAt.getTime();
      const { texts, config } = this.#deps;
      const own = texts.ownQueryIds();
      const hasToplevel = await this.#hasToplevel(input, fn);
      // Taken before reading: every EXPLAIN EXECUTE counted so far is in the counters read now.
      const prepared = this.#deps.plans.takePreparedExplains();
      const totals = await readStatementTotals(
        input.sql,
        { fn, totalColumn: input.caps.pgssTotalTimeColumn, hasToplevel },
        input.databases,
        own,
      );
      const ranked = rankByTimeDelta(dict, totals, config.plans.topQueries + RANK_MARGIN, nowMs);
      await texts.fill(input.sql, fn, ranked.map((r) => ({ dbid: r.dbid, queryId: r.queryId })));
      const chosen = ranked.flatMap((r) => {
        const t = texts.get(r.dbid, r.queryId);
        return t && !t.own ? [{ r, text: t.text }] : [];
      }).slice(0, config.plans.topQueries);
      if (!hasToplevel) {
        for (const { r, text } of chosen) {
          const phantom = prepared.get(explainKey(r.databaseName, text)) ?? 0;
          r.delta.calls = Math.max(0, r.delta.calls - phantom);
        }
      }
      const byQuery = aggregatesByQuery(snap.queryLensAggregates);
      const cycles: QueryCycle[] = [];
      for (const { r, text } of chosen) {
        cycles.push(await this.#observe(dict, r, text, byQuery, input.report));
      }
      const result = applyCycle(dict, cycles, this.#verdict, nowMs);
      snap.planChanges = result.changes;
      snap.planDictionary = result.entries;
      this.#reportLinks(input, new Set(chosen.map((c) => c.r.databaseName)));
    } catch (e) {
      input.report({
        component: "plans",
        cause: `error:${(e as Error).message}`,
        severity: "error",
        message: `plan tracking: ${(e as Error).message}`,
      });
    }
    await this.#save(input.report);
  }

  /** Whether pg_stat_statements has `toplevel`, probed again when the capabilities are. */
  async #hasToplevel(input: PlanCycleInput, view: string): Promise<boolean> {
    if (this.#toplevel?.caps !== input.caps) {
      this.#toplevel = { caps: input.caps, has: await hasToplevelColumn(input.sql, view) };
    }
    return this.#toplevel.has;
  }

  async #observe(
    dict: PlanDictionary,
    r: RankedStatement,
    text: string,
    byQuery: Map<string, QueryLensAggregate[]> | undefined,
    report: (issue: CollectionIssue) => void,
  ): Promise<QueryCycle> {
    const state = dict.queries.get(queryKey(r.databaseName, r.queryId));
    const aggs = byQuery === undefined ? undefined : byQuery.get(queryKey(r.databaseName, r.queryId)) ?? [];
    const refresh = looksChanged(dict, state, r, aggs, this.#verdict);
    const plan = await this.#deps.plans.planFor(r.databaseName, text, undefined, refresh);
    if (!plan.ok) {
      report({
        component: "plans",
        cause: `explain:${r.databaseName}:${r.queryId}`,
        severity: "debug",
        message: `no plan for query ${r.queryId} in database ${r.databaseName}: ${plan.reason}`,
      });
    }
    return queryCycle(r, plan, state, aggs);
  }

  #reportLinks(input: PlanCycleInput, databases: Set<string>): void {
    for (const db of databases) {
      const link = this.#deps.plans.linkOf(db);
      if (link === undefined || link.kind === "linked") continue;
      if (link.kind === "absent" && !input.caps.extensions.has(PLANID_EXTENSION)) continue;
      const why = link.kind === "no_privilege"
        ? `role "${link.role}" may not run ${link.fn}() (GRANT pg_read_all_stats TO "${link.role}")`
        : link.kind === "failed"
        ? `${link.fn || "the planid probe"} failed: ${link.reason}`
        : `${link.reason} (ALTER EXTENSION ${PLANID_EXTENSION} UPDATE)`;
      input.report({
        component: "plans",
        cause: `planid_link:${db}:${link.kind}`,
        severity: "warning",
        message: `captured plans of database ${db} are not linked to ${PLANID_EXTENSION} planids: ${why}`,
      });
    }
  }

  async #open(report: (issue: CollectionIssue) => void): Promise<PlanDictionary> {
    if (this.#dict !== undefined) return this.#dict;
    const cfg = this.#deps.config;
    try {
      const loaded = await loadPlanDictionary(cfg.tempDir, cfg.hostname, cfg.port, cfg.plans.dictionaryMax);
      this.#path = loaded.path;
      this.#dict = loaded.dict;
      if (loaded.problem !== undefined) {
        report({ component: "plans", cause: "state_corrupt", severity: "warning", message: loaded.problem });
      }
    } catch (e) {
      this.#dict = createDictionary(cfg.plans.dictionaryMax);
      report({
        component: "plans",
        cause: `state_dir:${(e as Error).message}`,
        severity: "error",
        message: `${(e as Error).message}: the plan dictionary is kept in memory only`,
      });
    }
    return this.#dict;
  }

  async #save(report: (issue: CollectionIssue) => void): Promise<void> {
    if (this.#path === undefined || this.#dict === undefined) return;
    try {
      await savePlanDictionary(this.#path, this.#dict);
    } catch (e) {
      report({
        component: "plans",
        cause: `save:${(e as Error).message}`,
        severity: "error",
        message: (e as Error).message,
      });
    }
  }
}
