/**
 * Estimated bloat of tables: the first PostgresqlTableSample of a table when bloat metrics are on.
 *
 * A table is bloated when its heap holds more pages than its live rows need. The estimate compares
 * the table's pages (`pg_class.relpages`) with the pages its live rows (`pg_class.reltuples`) would
 * take if packed as PostgreSQL packs fresh rows, both as of the table's last VACUUM or ANALYZE (so
 * they describe the same moment). The packed size comes from the column statistics of ANALYZE
 * (`pg_stats`), with PostgreSQL's on-disk layout:
 *
 * - a page is `block_size` bytes with a 24-byte page header; the fill factor (`fillfactor` storage
 *   parameter, 100 by default) keeps `block_size * (100 - fillfactor) / 100` bytes of each page
 *   free for updates, which is not counted as bloat;
 * - each row takes a 4-byte line pointer, a 23-byte tuple header, plus a null bitmap of one bit per
 *   column (`relnatts`, dropped columns included) when any column has NULLs, padded to 8 bytes,
 *   then its data padded to 8 bytes (the alignment of 64-bit platforms);
 * - its data is the sum over the columns of the average stored width of the non-NULL values
 *   (`avg_width`, which for a value moved to the TOAST table is the size of its pointer) times the
 *   share of rows where the column is not NULL. Padding between columns is not modelled, so a table
 *   of many narrow columns of mixed alignment shows a little bloat it does not have;
 * - a row is never split over pages: the estimate is `ceil(reltuples / floor(usable / row size))`.
 *
 * Then `table.dataSizeInBytes` = relpages × block size, `table.bloatSizeInBytes` = (relpages −
 * estimated pages) × block size, and `table.bloatRatio` = that difference in percent of relpages;
 * both are 0 when the table takes no more pages than estimated.
 *
 * Only ordinary tables (relkind `r`) are estimated. A table whose statistics do not cover every
 * live column (never analyzed, a column added since the last ANALYZE, or columns the role may not
 * read, since `pg_stats` only shows columns the role can SELECT) or whose `reltuples` is unknown
 * (-1, from PostgreSQL 14: never vacuumed or analyzed) cannot be estimated: it gets no bloat sample,
 * as nri-postgresql leaves out its "not applicable" rows, unless its heap is empty (no file
 * pages), in which case all three metrics are 0. An empty heap is checked only for those tables, and
 * not while an AccessExclusiveLock is held or awaited on the table (see `relations.ts`).
 *
 * @module
 */

import { type BaseMetricDef, rowMetrics, selectList } from "../../core/base_catalog.ts";
import type { RawMetric } from "../../core/model.ts";
import { relationMetricsFor } from "../../core/relation_catalog.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { boundTables, byPosition, EXCLUSIVE_LOCKS_CTE, tableParams, type TableRef } from "./relations.ts";

/** Bytes of a page header (`SizeOfPageHeaderData`). */
const PAGE_HEADER = 24;
/** Bytes of a line pointer (`ItemIdData`). */
const LINE_POINTER = 4;
/** Bytes of a tuple header before its null bitmap (`offsetof(HeapTupleHeaderData, t_bits)`). */
const TUPLE_HEADER = 23;
/** Alignment of tuples and of their data (`MAXIMUM_ALIGNOF` on 64-bit platforms). */
const MAX_ALIGN = 8;

/** `x` rounded up to a multiple of {@link MAX_ALIGN} (SQL, double precision). */
function aligned(x: string): string {
  return `${MAX_ALIGN} * ceil((${x}) / ${MAX_ALIGN})`;
}

/**
 * The bloat statement reading `defs` (the `bloat` metrics): `$1` schemas and `$2` tables (text
 * arrays of one length); one row per estimable table, `i` its 0-based position in the arrays, and
 * one row with `hidden` true (and metrics to ignore) per table that could not be estimated because
 * the role may not read it.
 */
export function bloatStatement(defs: readonly BaseMetricDef[]): string {
  return `${MARKER} WITH ${EXCLUSIVE_LOCKS_CTE},
wanted AS (
  SELECT (w.ord - 1)::int AS i, c.oid, n.nspname, c.relname, c.relpages::float8 AS relpages,
    c.reltuples::float8 AS reltuples, c.relnatts::float8 AS natts, c.reloptions
  FROM ${boundTables(["r"])}
),
widths AS (
  SELECT t.oid, count(a.attnum) AS live_columns, count(s.attname) AS analyzed_columns,
    coalesce(sum((1 - s.null_frac::float8) * s.avg_width), 0) AS data_width,
    coalesce(bool_or(s.null_frac > 0), false) AS has_nulls
  FROM wanted t
  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN LATERAL (SELECT s.null_frac, s.avg_width, s.attname FROM pg_catalog.pg_stats s
    WHERE s.schemaname = t.nspname AND s.tablename = t.relname AND s.attname = a.attname AND NOT s.inherited
    OFFSET 0) s ON true
  GROUP BY t.oid
),
shape AS (
  SELECT t.i, t.oid, t.relpages, t.reltuples,
    wd.live_columns > 0 AND wd.analyzed_columns = wd.live_columns AND t.reltuples >= 0 AS known,
    EXISTS (SELECT 1 FROM exclusive e WHERE e.relation = t.oid) AS locked,
    pg_catalog.has_table_privilege(t.oid, 'SELECT') AS readable,
    current_setting('block_size')::float8 AS bs,
    coalesce((SELECT substring(o FROM '^fillfactor=([0-9]+)$')::float8 FROM unnest(t.reloptions) AS o
      WHERE o LIKE 'fillfactor=%'), 100) AS fillfactor,
    ${aligned(`${TUPLE_HEADER} + CASE WHEN wd.has_nulls THEN ceil(t.natts / 8) ELSE 0 END`)}
      + ${aligned("wd.data_width")} + ${LINE_POINTER} AS row_bytes
  FROM wanted t JOIN widths wd ON wd.oid = t.oid
),
B AS (
  SELECT i, bs, NOT known AND NOT readable AS hidden,
    CASE WHEN known THEN relpages ELSE 0 END AS relpages,
    CASE WHEN known THEN ceil(reltuples / greatest(1,
      floor((bs - ${PAGE_HEADER} - floor(bs * (100 - fillfactor) / 100)) / row_bytes))) ELSE 0 END AS est_pages
  FROM shape
  WHERE CASE WHEN known OR NOT readable THEN true WHEN locked THEN false
    ELSE pg_catalog.pg_relation_size(oid) = 0 END
)
SELECT B.i, B.hidden, ${selectList(defs)} FROM B`;
}

/** Outcome of {@link readBloat}. */
export interface BloatReading {
  /** One entry per table in the order given: undefined when not estimated. */
  metrics: (RawMetric[] | undefined)[];
  /**
   * Tables not estimated because the role may not SELECT them, so that `pg_stats` hides their
   * column statistics (grant SELECT, or pg_read_all_data from PostgreSQL 14, to estimate them).
   */
  unreadable: TableRef[];
}

/**
 * The bloat metrics of `tables` on the session `sql` (of their database), and the tables the role
 * could not estimate for lack of privilege.
 *
 * @throws Error when the statement fails.
 */
export async function readBloat(sql: Sql, major: number, tables: readonly TableRef[]): Promise<BloatReading> {
  const defs = relationMetricsFor(major, "bloat");
  if (tables.length === 0) return { metrics: [], unreadable: [] };
  const rows = await sql.unsafe(bloatStatement(defs), tableParams(tables));
  const unreadable = rows.filter((r) => r.hidden).map((r) => tables[r.i]);
  const estimated = byPosition(rows.filter((r) => !r.hidden), tables.length);
  return { metrics: estimated.map((row) => row && rowMetrics(defs, row)), unreadable };
}

/**
 * The bloat metrics of `tables` on the session `sql` (of their database), one entry per table in
 * the order given: undefined for a table that is missing, not an ordinary table, or not estimable.
 *
 * @throws Error when the statement fails.
 */
export async function readTableBloat(
  sql: Sql,
  major: number,
  tables: readonly TableRef[],
): Promise<(RawMetric[] | undefined)[]> {
  return (await readBloat(sql, major, tables)).metrics;
}
