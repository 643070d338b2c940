/**
 * Custom config samples: the queries of the CUSTOM_METRICS_CONFIG file, each row one sample of the
 * query's `sample_name` on the `pg-database` entity of the database it ran in.
 *
 * A sample holds the attribute `database`, then every column of the row in result order: typed by
 * the query's `metric_types` when it names the column; otherwise a column of a numeric SQL type
 * (int2, int4, int8, float4, float8, numeric, oid) is a gauge and any other an attribute (see
 * `values.ts` for the text forms). Like nri-postgresql, the samples carry no `displayName` or
 * `entityName`.
 *
 * Each query runs on the session of its database. Queries of one database run one after the
 * other on that session; different databases run in parallel, at most
 * {@link CUSTOM_CONFIG_CONCURRENCY} at a time (nri-postgresql's limit), so no more sessions than that
 * are busy at once. A query that fails loses only its own samples; a value that cannot be used
 * (a typed metric that is not a number, a numeric column holding NaN or ±Infinity) leaves only that
 * column out. Both are reported, once per query and cause, with a count.
 *
 * Deliberate differences from nri-postgresql: a NULL column is left out (nri-postgresql writes the
 * text `<nil>`); `numeric` and `oid` columns are gauges (nri-postgresql's driver returned them as
 * text, so they became attributes); a column typed `attribute` may hold a non-text value (written
 * as text instead of being refused); timestamps are ISO-8601; each query runs as one statement
 * (extended protocol), after the collector's marker comment, on a session kept across cycles.
 *
 * @module
 */

import { databaseEntity } from "../../core/entities.ts";
import type { BaseSample, CollectionIssue, RawMetric } from "../../core/model.ts";
import type { Row, Session } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import type { CustomQueryDef } from "./config_file.ts";
import { forEachLimited } from "../limit.ts";
import {
  attributeText,
  type Converted,
  countProblem,
  metricNumber,
  NUMERIC_TYPE_OIDS,
  type ProblemCounts,
  type ResultColumn,
  resultColumns,
} from "./values.ts";

/** At most this many databases are queried at once. */
export const CUSTOM_CONFIG_CONCURRENCY = 10;

/** Component name of the issues this collector reports. */
export const CUSTOM_CONFIG_COMPONENT = "custom.config";

/** Source of one session per database (a `ConnectionManager` is one). */
export interface CustomQueryConnections {
  /** The session of `database`. */
  sql(database: string): Session;
}

/** One column value as a metric of the sample, or why it cannot be one. */
function columnMetric(def: CustomQueryDef, column: ResultColumn, value: unknown): Converted<RawMetric> {
  const typed = def.metricTypes.get(column.name);
  const sourceType = typed ??
    (NUMERIC_TYPE_OIDS.has(column.type) || (column.type === 0 && isNumber(value)) ? "gauge" : "attribute");
  const converted = sourceType === "attribute" ? attributeText(value, column.type) : metricNumber(value);
  if ("problem" in converted) {
    return { problem: typed ? `${converted.problem} (typed ${typed})` : converted.problem };
  }
  return { value: { name: column.name, sourceType, value: converted.value } };
}

function isNumber(value: unknown): boolean {
  return typeof value === "number" || typeof value === "bigint";
}

/** The samples of the rows of one query. */
function rowSamples(
  def: CustomQueryDef,
  database: string,
  rows: Row[],
  host: string,
  port: string | number,
  leftOut: ProblemCounts,
): BaseSample[] {
  const entity = databaseEntity(host, port, database);
  const columns = resultColumns(rows);
  return rows.map((row) => {
    const metrics: RawMetric[] = [{ name: "database", sourceType: "attribute", value: database }];
    for (const column of columns) {
      const value = row[column.name];
      if (value === null || value === undefined) continue;
      const metric = columnMetric(def, column, value);
      if ("problem" in metric) countProblem(leftOut, column.name, metric.problem);
      else metrics.push(metric.value);
    }
    return { entity, eventType: def.sampleName, metrics };
  });
}

/**
 * Runs every query of `defs` on the session of its database (`mainDatabase` when it names none)
 * and returns their samples, in the order of `defs` and then of the rows, for the instance
 * `<host>:<port>`. Failures and left-out values are passed to `report`; this never rejects for a
 * query's sake.
 */
export async function collectCustomConfigSamples(
  connections: CustomQueryConnections,
  defs: readonly CustomQueryDef[],
  mainDatabase: string,
  host: string,
  port: string | number,
  report: (issue: CollectionIssue) => void,
): Promise<BaseSample[]> {
  const byDatabase = new Map<string, number[]>();
  defs.forEach((def, i) => {
    const db = def.database || mainDatabase;
    const list = byDatabase.get(db);
    if (list) list.push(i);
    else byDatabase.set(db, [i]);
  });
  const results: BaseSample[][] = defs.map(() => []);
  await forEachLimited([...byDatabase], CUSTOM_CONFIG_CONCURRENCY, async ([database, indexes]) => {
    for (const i of indexes) {
      const where = `custom_metrics_config queries[${i}] (database ${database})`;
      const leftOut: ProblemCounts = new Map();
      try {
        const rows = await connections.sql(database).unsafe(`${MARKER} ${defs[i].query}`, [], {
          simple: false,
        });
        results[i] = rowSamples(defs[i], database, rows, host, port, leftOut);
      } catch (e) {
        const message = (e as Error).message;
        report({
          component: CUSTOM_CONFIG_COMPONENT,
          cause: `queries[${i}]:error:${message}`,
          severity: "error",
          message: `${where}: the query failed: ${message}`,
        });
      }
      for (const [column, { count, first }] of leftOut) {
        report({
          component: CUSTOM_CONFIG_COMPONENT,
          cause: `queries[${i}]:left_out_column:${column}`,
          severity: "warning",
          message: `${where}: left out column "${column}" in ${count} row(s): ${first}`,
        });
      }
    }
  });
  return results.flat();
}
