/**
 * PostgresqlTableSample on the `pg-table` entities: per table, the bloat sample (when bloat metrics
 * are on; see `bloat.ts`) and then the statistics sample, as nri-postgresql orders them.
 *
 * Each sample starts with `displayName` and `entityName`, then the attributes `database` and
 * `schema`, then its metrics. Counters are raw (rates are computed when the sample is published);
 * a NULL column leaves its metric out: a table without indexes has no index counters, one without
 * a TOAST table no TOAST counters, one never vacuumed no `table.lastVacuum`.
 *
 * Each query is one statement per database, whatever the number of tables (they are bound as
 * arrays). A table that no longer exists simply has no sample.
 *
 * Differences from nri-postgresql, on purpose:
 * - statistics come from `pg_stat_all_tables` and `pg_statio_all_tables`, not the `_user_` views,
 *   so a table of a system schema that the collection list names gets its statistics too;
 * - a table missing from those views still gets a statistics sample with what is known: a
 *   partitioned table, which holds no data itself, has its sizes (0) and, from PostgreSQL 14 (where
 *   `pg_stat_all_tables` lists partitioned tables), its row counters and analyze times, but never
 *   I/O counters (`pg_statio_all_tables` does not list it); its partitions are tables of their own;
 * - ordinary, partitioned and TOAST tables and materialized views are read; other relations a
 *   collection list may name (views, sequences, foreign tables) get no sample;
 * - the sizes of a table with an AccessExclusiveLock held or awaited on it, its TOAST table or one
 *   of its indexes are left out for the cycle instead of waiting for the lock (see `relations.ts`).
 *
 * @module
 */

import { type BaseMetricDef, selectList } from "../../core/base_catalog.ts";
import { namingAttributes, tableEntity } from "../../core/entities.ts";
import type { BaseSample, CollectionIssue, RawMetric } from "../../core/model.ts";
import { relationMetricsFor, TABLE_SAMPLE } from "../../core/relation_catalog.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { readBloat } from "./bloat.ts";
import {
  boundTables,
  type DatabaseObjects,
  EXCLUSIVE_LOCKS_CTE,
  readByPosition,
  tableLocked,
  tableParams,
  type TableRef,
  tablesOf,
} from "./relations.ts";

/** Options of {@link collectTableSamples}. */
export interface TableSampleOptions {
  /** Also collect the bloat samples (`COLLECT_BLOAT_METRICS`). */
  bloat: boolean;
  /**
   * Receives the failure of one of the two queries, so that the other's samples are still
   * returned; without it, a failure is thrown.
   */
  report?: (issue: CollectionIssue) => void;
}

/** Relation kinds with table statistics: ordinary, partitioned, TOAST tables, materialized views. */
const TABLE_KINDS = ["r", "p", "t", "m"];

/**
 * The statistics statement reading `defs` (the `table` metrics): `$1` schemas and `$2` tables (text
 * arrays of one length); one row per existing table, `i` its 0-based position in the arrays.
 *
 * The statistics views are read through LATERAL subqueries restricted to the table's oid (and kept
 * apart from the outer query by OFFSET 0), so that the server computes their grouped rows for the
 * bound tables only, not for every table of the database.
 */
export function tableStatsStatement(defs: readonly BaseMetricDef[]): string {
  return `${MARKER} WITH ${EXCLUSIVE_LOCKS_CTE}
SELECT (w.ord - 1)::int AS i, ${selectList(defs)}
FROM ${boundTables(TABLE_KINDS)}
CROSS JOIN LATERAL (SELECT CASE WHEN ${tableLocked("c")} THEN NULL ELSE c.oid END AS sized) R
LEFT JOIN LATERAL (SELECT * FROM pg_catalog.pg_stat_all_tables WHERE relid = c.oid OFFSET 0) S ON true
LEFT JOIN LATERAL (SELECT * FROM pg_catalog.pg_statio_all_tables WHERE relid = c.oid OFFSET 0) IO ON true`;
}

/**
 * The statistics metrics of `tables` on the session `sql` (of their database), one entry per table
 * in the order given: undefined for a table that is missing or not of a kind with statistics.
 *
 * @throws Error when the statement fails.
 */
export async function readTableStats(
  sql: Sql,
  major: number,
  tables: readonly TableRef[],
): Promise<(RawMetric[] | undefined)[]> {
  const defs = relationMetricsFor(major, "table");
  return await readByPosition(sql, defs, tableStatsStatement(defs), tableParams(tables), tables.length);
}

/**
 * Collects the PostgresqlTableSamples of the tables of `tree`, one database's discovered objects,
 * on `sql`, that database's own session: for each table in the tree's order, its bloat sample
 * (with `opts.bloat`, when estimable) and then its statistics sample. Two statements at most.
 *
 * @throws Error when a name is empty, or when a query fails and `opts.report` is not given.
 */
export async function collectTableSamples(
  sql: Sql,
  caps: Pick<Capabilities, "version">,
  database: string,
  tree: DatabaseObjects,
  host: string,
  port: string | number,
  opts: TableSampleOptions,
): Promise<BaseSample[]> {
  const tables = tablesOf(tree);
  const entities = tables.map((t) => tableEntity(host, port, database, t.schema, t.table));
  const major = caps.version.major;
  const attempt = async (
    what: string,
    read: () => Promise<(RawMetric[] | undefined)[]>,
  ): Promise<(RawMetric[] | undefined)[]> => {
    if (!opts.report) return await read();
    try {
      return await read();
    } catch (e) {
      const message = `table ${what} of database "${database}" not collected: ${(e as Error).message}`;
      opts.report({ component: `base.table.${what}`, cause: `error:${message}`, severity: "error", message });
      return [];
    }
  };
  const bloat = opts.bloat
    ? await attempt("bloat", async () => {
      const { metrics, unreadable } = await readBloat(sql, major, tables);
      if (unreadable.length > 0) reportUnreadable(opts, database, unreadable);
      return metrics;
    })
    : [];
  const stats = await attempt("statistics", () => readTableStats(sql, major, tables));
  const out: BaseSample[] = [];
  tables.forEach((t, i) => {
    const head: RawMetric[] = [
      ...namingAttributes(entities[i]),
      { name: "database", sourceType: "attribute", value: database },
      { name: "schema", sourceType: "attribute", value: t.schema },
    ];
    for (const metrics of [bloat[i], stats[i]]) {
      if (metrics) out.push({ entity: entities[i], eventType: TABLE_SAMPLE, metrics: [...head, ...metrics] });
    }
  });
  return out;
}

/** Reports, once per database, the tables whose bloat the role may not estimate. */
function reportUnreadable(opts: TableSampleOptions, database: string, tables: TableRef[]): void {
  const first = tables.slice(0, 3).map((t) => `${t.schema}.${t.table}`).join(", ");
  const more = tables.length > 3 ? ` and ${tables.length - 3} more` : "";
  opts.report?.({
    component: "base.table.bloat",
    cause: `unreadable:${database}`,
    severity: "warning",
    message: `database "${database}": no bloat estimate for ${tables.length} table(s) (${first}${more}): ` +
      "the role may not SELECT them, so pg_stats hides their column statistics; " +
      "grant SELECT on them (or pg_read_all_data from PostgreSQL 14)",
  });
}
