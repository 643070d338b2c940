/**
 * Plan changes as OTLP: one log record per `PostgresPlanChanges` row, event name
 * `pgquerylens.plan.change`, timed at the change's detection, with the keys of
 * `src/core/plan_catalog.ts` (`postgresql.queryid`, `db.namespace`, `pgquerylens.planid`,
 * `pgquerylens.previous_planid`, `pgquerylens.plan.*`) plus `db.system.name` = `postgresql`. The
 * execution counts are int attributes, `pgquerylens.plan.is_regression` a bool, costs and mean
 * durations (ms) doubles; absent values are left out.
 *
 * @module
 */

import type { PlanChange, UnifiedMetrics } from "../core/model.ts";
import { PLAN_CHANGES } from "../core/plan_catalog.ts";
import type { LogRecordData } from "./logs.ts";
import type { Attributes } from "./resource.ts";

/** Event name of the plan-change log records. */
export const PLAN_CHANGE_EVENT_NAME = "pgquerylens.plan.change";

/** The attributes of one plan change's log record. */
export function planChangeAttributes(c: PlanChange): Attributes {
  const attributes: Attributes = { "db.system.name": "postgresql" };
  for (const f of PLAN_CHANGES.fields) {
    const v = c[f.field];
    if (f.otel === undefined || v === undefined) continue;
    if (typeof v === "boolean") attributes[f.otel] = v;
    else if (f.type === "attribute") attributes[f.otel] = String(v);
    else if (f.integer) attributes[f.otel] = BigInt(Math.round(Number(v)));
    else if (Number.isFinite(Number(v))) attributes[f.otel] = Number(v);
  }
  return attributes;
}

/** The `pgquerylens.plan.change` log records of `snapshot`'s plan changes, in order. */
export function planChangeLogRecords(snapshot: Pick<UnifiedMetrics, "planChanges">): LogRecordData[] {
  return (snapshot.planChanges ?? []).map((c) => ({
    eventName: PLAN_CHANGE_EVENT_NAME,
    timeUnixNano: BigInt(Math.round(c.detectedAtUnixMs)) * 1_000_000n,
    attributes: planChangeAttributes(c),
  }));
}
