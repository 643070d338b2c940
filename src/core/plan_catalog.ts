/**
 * The catalog of plan tracking: the event type `PostgresPlanChanges` (one event per plan change,
 * exported once its verdict is known), declared the way `catalog.ts` declares the QPM types, with
 * the key each field carries on the OTLP `pgquerylens.plan.change` log record.
 *
 * The type is data nri-postgresql does not have: it is published as its own event type, after the
 * QPM, pg_querylens and active session history types, whatever the compatibility mode.
 *
 * @module
 */

import type { EventTypeSpec, FieldSpec } from "./catalog.ts";
import type { PlanChange } from "./model.ts";

/** A field of `PostgresPlanChanges` with its OTLP key. */
export interface PlanChangeFieldSpec extends FieldSpec<PlanChange> {
  /**
   * Attribute key on the OTLP log record; absent when the record carries the value otherwise (the
   * detection time is the record's time). Integers become int attributes, the verdict a bool.
   */
  otel?: string;
}

/** The plan-change event type, its fields naming their OTLP keys. */
export interface PlanChangeEventTypeSpec extends EventTypeSpec<PlanChange> {
  /** Fields in declaration order. */
  fields: PlanChangeFieldSpec[];
}

function attr(
  field: keyof PlanChange & string,
  nri: string,
  otel: string | undefined,
  description: string,
): PlanChangeFieldSpec {
  return {
    field,
    nri,
    ...(otel === undefined ? {} : { otel }),
    type: "attribute",
    required: true,
    description,
  };
}

function gauge(
  field: keyof PlanChange & string,
  nri: string,
  otel: string,
  unit: string,
  required: boolean,
  description: string,
): PlanChangeFieldSpec {
  const integer = unit === "{execution}";
  return { field, nri, otel, type: "gauge", ...(integer ? { integer } : {}), required, unit, description };
}

/** Fields of PostgresPlanChanges. */
export const PLAN_CHANGES: PlanChangeEventTypeSpec = {
  eventType: "PostgresPlanChanges",
  source: "planChanges",
  fields: [
    attr("queryId", "query_id", "postgresql.queryid", "query id (decimal)"),
    attr("databaseName", "database_name", "db.namespace", "database"),
    attr("planId", "plan_id", "pgquerylens.planid", "the new plan's id (decimal)"),
    attr(
      "previousPlanId",
      "previous_plan_id",
      "pgquerylens.previous_planid",
      "the previous plan's id (decimal)",
    ),
    gauge(
      "previousTotalCost",
      "previous_total_cost",
      "pgquerylens.plan.previous_total_cost",
      "1",
      false,
      "root total cost of the previous plan's EXPLAIN",
    ),
    gauge(
      "totalCost",
      "total_cost",
      "pgquerylens.plan.total_cost",
      "1",
      false,
      "root total cost of the new plan",
    ),
    gauge(
      "avgDurationBeforeMs",
      "avg_duration_before_ms",
      "pgquerylens.plan.avg_duration_before",
      "ms",
      false,
      "mean execution time of the previous plan",
    ),
    gauge(
      "avgDurationAfterMs",
      "avg_duration_after_ms",
      "pgquerylens.plan.avg_duration_after",
      "ms",
      false,
      "mean execution time of the new plan since the change",
    ),
    gauge(
      "executionsBefore",
      "executions_before",
      "pgquerylens.plan.executions_before",
      "{execution}",
      true,
      "executions of the previous plan",
    ),
    gauge(
      "executionsAfter",
      "executions_after",
      "pgquerylens.plan.executions_after",
      "{execution}",
      true,
      "executions of the new plan since the change",
    ),
    {
      field: "isRegression",
      nri: "is_regression",
      otel: "pgquerylens.plan.is_regression",
      type: "gauge",
      integer: true,
      required: true,
      description: "1 when the new plan is slower by the regression ratio over enough executions",
    },
    attr("detectedAt", "detected_at", undefined, "when the change was detected (RFC 3339)"),
  ],
};

/** The plan-tracking event types in publish order. */
export const PLAN_EVENT_TYPES: EventTypeSpec<PlanChange>[] = [PLAN_CHANGES];
