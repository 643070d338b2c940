/**
 * PgCustomQuerySample: the rows of CUSTOM_METRICS_QUERY, on the `pg-instance` entity.
 *
 * The query runs on the main session and must return the columns `metric_name` (text),
 * `metric_type` (one of gauge, rate, delta, prate, pdelta, attribute, in any case) and
 * `metric_value`. Each row gives one sample: `displayName` and `entityName` of the instance, every
 * other column as a string attribute, then one metric named by `metric_name` with the row's
 * value and source type. A numeric source type needs a finite number (decimal text and booleans
 * count; see `values.ts`); `attribute` takes any value as text.
 *
 * A row whose name, type or value does not fit is skipped; skipped rows are reported once per
 * cause and call, with their count and the first offender, and never cost the other rows.
 *
 * Deliberate differences from nri-postgresql: a NULL extra column is left out (nri-postgresql writes
 * the text `<nil>`); a row whose value cannot be used is skipped whole (nri-postgresql still emitted
 * its attributes without the metric); an `attribute` metric may have a non-text value (it is
 * written as text instead of being refused); timestamps are ISO-8601. The query runs as one
 * statement (extended protocol), after the collector's marker comment.
 *
 * @module
 */

import { instanceEntity, namingAttributes } from "../../core/entities.ts";
import type { BaseSample, CollectionIssue, RawMetric } from "../../core/model.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import {
  attributeText,
  countProblem,
  describeValue,
  metricNumber,
  type ProblemCounts,
  resultColumns,
  SOURCE_TYPES,
  sourceTypeOf,
} from "./values.ts";

/** Event type of the samples of CUSTOM_METRICS_QUERY. */
export const CUSTOM_QUERY_SAMPLE = "PgCustomQuerySample";

/** Component name of the issues this collector reports. */
export const CUSTOM_QUERY_COMPONENT = "custom.query";

/** The columns every row of CUSTOM_METRICS_QUERY must have. */
export const REQUIRED_COLUMNS = ["metric_name", "metric_type", "metric_value"] as const;

const REQUIRED: ReadonlySet<string> = new Set(REQUIRED_COLUMNS);

/** Why rows were skipped, by problem key. */
const SKIP_REASONS: Record<string, string> = {
  metric_name: "metric_name is NULL, empty or not text",
  metric_type: `metric_type is not one of ${SOURCE_TYPES.join(", ")}`,
  metric_value: "metric_value is NULL or not a finite number for a numeric metric type",
};

/**
 * Runs `query` on `sql` and returns one PgCustomQuerySample per usable row, in row order, on the
 * instance `<host>:<port>`. Skipped rows and left-out columns are passed to `report` (one issue
 * per cause, with the count); so is a result that lacks a required column, which gives no samples.
 *
 * @throws TypeError when `query` is empty; Error when the query fails (the caller reports it).
 */
export async function collectCustomQuerySamples(
  sql: Sql,
  query: string,
  host: string,
  port: string | number,
  report: (issue: CollectionIssue) => void = () => {},
): Promise<BaseSample[]> {
  if (query.trim() === "") throw new TypeError("custom_metrics_query: the query is empty");
  const entity = instanceEntity(host, port);
  const rows = await sql.unsafe(`${MARKER} ${query}`, [], { simple: false });
  const columns = resultColumns(rows);
  const names = new Set(columns.map((c) => c.name));
  const missing = REQUIRED_COLUMNS.filter((c) => !names.has(c));
  if (missing.length > 0) {
    report({
      component: CUSTOM_QUERY_COMPONENT,
      cause: `missing_columns:${missing.join(",")}`,
      severity: "error",
      message: `custom_metrics_query: the result has no ${missing.join(", ")} column ` +
        `(the query must return ${REQUIRED_COLUMNS.join(", ")}); no PgCustomQuerySample was collected`,
    });
    return [];
  }
  const valueType = columns.find((c) => c.name === "metric_value")!.type;
  const extra = columns.filter((c) => !REQUIRED.has(c.name));
  const skipped: ProblemCounts = new Map();
  const leftOut: ProblemCounts = new Map();
  const samples: BaseSample[] = [];
  for (const row of rows) {
    const name = row.metric_name;
    if (typeof name !== "string" || name === "") {
      countProblem(skipped, "metric_name", describeValue(name));
      continue;
    }
    const type = typeof row.metric_type === "string" ? sourceTypeOf(row.metric_type) : undefined;
    if (type === undefined) {
      countProblem(skipped, "metric_type", `metric "${name}": ${describeValue(row.metric_type)}`);
      continue;
    }
    const raw = row.metric_value;
    const converted = raw === null || raw === undefined
      ? { problem: "NULL" }
      : type === "attribute"
      ? attributeText(raw, valueType)
      : metricNumber(raw);
    if ("problem" in converted) {
      countProblem(skipped, "metric_value", `metric "${name}" (${type}): ${converted.problem}`);
      continue;
    }
    const metrics: RawMetric[] = namingAttributes(entity);
    for (const c of extra) {
      const v = row[c.name];
      if (v === null || v === undefined) continue;
      const text = attributeText(v, c.type);
      if ("problem" in text) countProblem(leftOut, c.name, text.problem);
      else metrics.push({ name: c.name, sourceType: "attribute", value: text.value });
    }
    metrics.push({ name, sourceType: type, value: converted.value });
    samples.push({ entity, eventType: CUSTOM_QUERY_SAMPLE, metrics });
  }
  for (const [key, { count, first }] of skipped) {
    report({
      component: CUSTOM_QUERY_COMPONENT,
      cause: `skipped_row:${key}`,
      severity: "warning",
      message: `custom_metrics_query: skipped ${count} row(s) whose ${SKIP_REASONS[key]} (first: ${first})`,
    });
  }
  for (const [column, { count, first }] of leftOut) {
    report({
      component: CUSTOM_QUERY_COMPONENT,
      cause: `left_out_column:${column}`,
      severity: "warning",
      message: `custom_metrics_query: left out column "${column}" in ${count} row(s): ${first}`,
    });
  }
  return samples;
}
