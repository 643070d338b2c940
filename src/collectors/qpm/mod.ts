/**
 * Query Performance Monitoring: runs the five QPM collectors for one cycle, in either pipeline.
 *
 * Default pipeline: wait events (pg_wait_sampling, else activity samples), blocking sessions, slow
 * queries, individual queries (pg_stat_monitor, else activity samples) and their plans.
 * IS_RDS pipeline: slow queries filtered to statements seen running, individual queries and waits
 * from the same activity samples, blocking sessions whose both sides are slow queries.
 *
 * Each collector fails alone: an error is reported and the others still deliver their rows.
 *
 * @module
 */

import type { Config } from "../../config/types.ts";
import type { CollectionIssue, IndividualQuery, PlanNode, UnifiedMetrics } from "../../core/model.ts";
import type { CapabilityCache } from "../../query_engine/capabilities.ts";
import type { ConnectionManager } from "../../query_engine/connection.ts";
import { matchKey } from "../../query_engine/sql_text.ts";
import { type ActivitySamples, linkExecutions, sampleActivity } from "./activity_sampler.ts";
import { collectBlockingSessions } from "./blocking_sessions.ts";
import type { QpmContext } from "./context.ts";
import { individualFromActivity, individualFromPgStatMonitor } from "./individual_queries.ts";
import type { PlanCapture } from "./plan_capture.ts";
import { flattenPlan } from "./plan_shape.ts";
import { collectSlowQueries, type SlowQueryRow } from "./slow_queries.ts";
import type { StatementTextCache } from "./statement_texts.ts";
import { collectWaitEvents } from "./wait_events.ts";

/** Long-lived parts the QPM cycle uses. */
export interface QpmDeps {
  /** Validated configuration. */
  config: Config;
  /** Sessions per database. */
  connections: ConnectionManager;
  /** Capabilities per database. */
  capabilities: CapabilityCache;
  /** Plan capture with its cache. */
  plans: PlanCapture;
  /** Statement texts cache. */
  texts: StatementTextCache;
  /** Issue sink. */
  report(issue: CollectionIssue): void;
  /**
   * PostgresIndividualQueries from pg_querylens executions, when the extension is read; used
   * instead of activity samples when pg_stat_monitor is absent.
   */
  ringIndividuals?: (slow: SlowQueryRow[]) => IndividualQuery[];
}

/** Oldest major version QPM supports (as nri-postgresql). */
export const MIN_QPM_MAJOR = 12;

async function guarded<T>(
  component: string,
  report: (i: CollectionIssue) => void,
  fallback: T,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    report({
      component,
      cause: `error:${(e as Error).message}`,
      severity: "error",
      message: (e as Error).message,
    });
    return fallback;
  }
}

function capabilityWarnings(ctx: QpmContext): void {
  const { caps } = ctx;
  if (!caps.readAllStats) {
    ctx.report({
      component: "qpm",
      cause: "no_pg_read_all_stats",
      severity: "warning",
      message:
        `role "${caps.role}" is not a member of pg_read_all_stats: statements and query ids of other roles are hidden (GRANT pg_read_all_stats TO "${caps.role}")`,
    });
  }
  if (caps.version.major >= 14 && caps.computeQueryId === "off") {
    ctx.report({
      component: "qpm",
      cause: "compute_query_id_off",
      severity: "warning",
      message:
        "compute_query_id is off: pg_stat_activity has no query ids, so waits and executions cannot be linked",
    });
  }
  if (caps.extensions.has("pg_stat_statements") && !caps.extensions.has("pg_wait_sampling")) {
    ctx.report({
      component: "qpm.wait_events",
      cause: "no_pg_wait_sampling",
      severity: "warning",
      message:
        "extension pg_wait_sampling is not created in the monitored database: wait events come from pg_stat_activity samples",
    });
  }
}

/** Runs QPM for one cycle and fills the QPM parts of `snap`. */
export async function collectQpm(deps: QpmDeps, snap: UnifiedMetrics, databases: string[]): Promise<void> {
  const { config, report } = deps;
  const sql = deps.connections.sql(config.database);
  const { caps } = await deps.capabilities.get(config.database, sql);
  if (caps.version.major < MIN_QPM_MAJOR) {
    report({
      component: "qpm",
      cause: "version",
      severity: "warning",
      message: `PostgreSQL ${caps.serverVersion} is older than ${MIN_QPM_MAJOR}: query monitoring is off`,
    });
    return;
  }
  const ctx: QpmContext = {
    sql,
    caps,
    databases,
    countThreshold: config.queryMonitoringCountThreshold,
    responseTimeThresholdMs: config.queryMonitoringResponseTimeThreshold,
    config,
    texts: deps.texts,
    report,
  };
  capabilityWarnings(ctx);
  deps.plans.beginCycle();
  const needActivity = config.isRds ||
    (!caps.extensions.has("pg_stat_monitor") && !deps.ringIndividuals) ||
    !caps.extensions.has("pg_wait_sampling");
  const activityP: Promise<ActivitySamples | undefined> = needActivity && databases.length > 0
    ? guarded("qpm.activity_sampler", report, undefined, () =>
      sampleActivity(
        deps.connections.sql(config.database, "sampler"),
        caps,
        databases,
        config.session.applicationName,
        config.activitySampling.samples,
        config.activitySampling.intervalMs,
      ))
    : Promise.resolve(undefined);
  const now = snap.collectedAt;
  const slow = await guarded(
    "qpm.slow_queries",
    report,
    [] as SlowQueryRow[],
    () => collectSlowQueries(ctx, now),
  );
  const blocking = await guarded("qpm.blocking_sessions", report, [], () => collectBlockingSessions(ctx));
  const activity = await activityP;
  if (activity) linkExecutions(activity, slow);
  if (config.isRds) {
    await rdsPipeline(ctx, snap, slow, blocking, activity);
  } else {
    snap.waitEvents = await guarded(
      "qpm.wait_events",
      report,
      [],
      () => collectWaitEvents(ctx, now, activity),
    );
    snap.blockingSessions = blocking;
    snap.slowQueries = slow;
    snap.individualQueries = await individualQueries(ctx, slow, activity, deps.ringIndividuals);
  }
  snap.executionPlans = await capturePlans(deps, snap.individualQueries, slow);
}

async function individualQueries(
  ctx: QpmContext,
  slow: SlowQueryRow[],
  activity: ActivitySamples | undefined,
  ring: QpmDeps["ringIndividuals"],
): Promise<IndividualQuery[]> {
  if (ctx.caps.extensions.has("pg_stat_monitor")) {
    return await guarded(
      "qpm.individual_queries",
      ctx.report,
      [],
      () => individualFromPgStatMonitor(ctx, slow),
    );
  }
  if (ring) return ring(slow);
  return activity ? individualFromActivity(slow, activity, ctx) : [];
}

async function rdsPipeline(
  ctx: QpmContext,
  snap: UnifiedMetrics,
  slow: SlowQueryRow[],
  blocking: UnifiedMetrics["blockingSessions"],
  activity: ActivitySamples | undefined,
): Promise<void> {
  const seen = activity
    ? individualFromActivity(slow, activity, { ...ctx, responseTimeThresholdMs: -1 })
    : [];
  const keep = new Set(seen.map((i) => `${i.databaseName}\u0000${i.queryId}`));
  snap.slowQueries = slow.filter((s) => keep.has(`${s.databaseName}\u0000${s.queryId}`));
  const firstPer = new Map<string, IndividualQuery>();
  for (const i of seen) {
    if (!firstPer.has(`${i.databaseName}\u0000${i.queryId}`)) {
      firstPer.set(`${i.databaseName}\u0000${i.queryId}`, i);
    }
  }
  snap.individualQueries = [...firstPer.values()];
  const waits = await guarded(
    "qpm.wait_events",
    ctx.report,
    [],
    () => collectWaitEvents(ctx, snap.collectedAt, activity),
  );
  snap.waitEvents = waits.filter((w) => keep.has(`${w.databaseName}\u0000${w.queryId}`));
  const slowKeys = new Set(snap.slowQueries.map((s) => matchKey(s.queryText)).filter(Boolean));
  const isSlow = (id: string | undefined, text: string, db: string) =>
    id ? keep.has(`${db}\u0000${id}`) : slowKeys.has(matchKey(text));
  snap.blockingSessions = blocking.filter((b) =>
    isSlow(b.blockedQueryId, b.blockedQuery, b.databaseName) &&
    isSlow(b.blockingQueryId, b.blockingQuery, b.databaseName)
  );
}

async function capturePlans(
  deps: QpmDeps,
  individual: IndividualQuery[],
  slow: SlowQueryRow[],
): Promise<PlanNode[]> {
  const normalized = new Map(slow.map((s) => [`${s.databaseName}\u0000${s.queryId}`, s.queryText]));
  const nodes: PlanNode[] = [];
  const emitted = new Set<string>();
  for (const iq of individual) {
    const candidates = [iq.rawText, normalized.get(`${iq.databaseName}\u0000${iq.queryId}`)]
      .filter((t): t is string => !!t);
    for (const text of candidates) {
      const plan = await deps.plans.planFor(iq.databaseName, text);
      if (!plan.ok) {
        deps.report({
          component: "qpm.execution_plans",
          cause: `explain:${iq.databaseName}:${iq.queryId}`,
          severity: "debug",
          message: `no plan for query ${iq.queryId} in database ${iq.databaseName}: ${plan.reason}`,
        });
        continue;
      }
      iq.planId = plan.planId;
      const key = `${iq.databaseName}\u0000${iq.queryId}\u0000${plan.planId}`;
      if (!emitted.has(key)) {
        emitted.add(key);
        nodes.push(
          ...flattenPlan(plan.root, {
            databaseName: iq.databaseName,
            queryId: iq.queryId,
            planId: plan.planId,
          }),
        );
      }
      break;
    }
  }
  return nodes;
}
