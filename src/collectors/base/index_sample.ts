/**
 * PostgresqlIndexSample on the `pg-index` entities: size and scan counters of each discovered
 * index.
 *
 * Each sample starts with `displayName` and `entityName`, then the attributes `database`, `schema`
 * and `table`, then `index.sizeInBytes` (gauge) and the raw counters `index.rowsReadPerSecond` and
 * `index.rowsFetchedPerSecond` (rates are computed when the sample is published). One statement per
 * database, whatever the number of indexes (they are bound as arrays). An index that no longer
 * exists, or is not an index of the table it is listed under, has no sample.
 *
 * Differences from nri-postgresql, on purpose:
 * - an index missing from `pg_stat_all_indexes` still gets a sample with its size: the index of a
 *   partitioned table (which holds no data itself, size 0; the indexes of its partitions are
 *   indexes of their own) has no scan counters;
 * - the size of an index with an AccessExclusiveLock held or awaited on it (REINDEX, DROP INDEX in
 *   an open transaction) is left out for the cycle instead of waiting for the lock (see
 *   `relations.ts`).
 *
 * @module
 */

import { type BaseMetricDef, selectList } from "../../core/base_catalog.ts";
import { indexEntity, namingAttributes } from "../../core/entities.ts";
import type { BaseSample, RawMetric } from "../../core/model.ts";
import { INDEX_SAMPLE, relationMetricsFor } from "../../core/relation_catalog.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Sql } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import {
  type DatabaseObjects,
  EXCLUSIVE_LOCKS_CTE,
  indexesOf,
  indexParams,
  type IndexRef,
  readByPosition,
} from "./relations.ts";

/**
 * The index statement reading `defs` (the `index` metrics): `$1` schemas, `$2` tables and `$3`
 * indexes (text arrays of one length); one row per existing index of the named table, `i` its
 * 0-based position in the arrays.
 */
export function indexStatement(defs: readonly BaseMetricDef[]): string {
  return `${MARKER} WITH ${EXCLUSIVE_LOCKS_CTE}
SELECT (w.ord - 1)::int AS i, ${selectList(defs)}
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS w(schema_name, table_name, index_name, ord)
JOIN pg_catalog.pg_namespace n ON n.nspname = w.schema_name
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.table_name
JOIN pg_catalog.pg_class ic ON ic.relnamespace = n.oid AND ic.relname = w.index_name
JOIN pg_catalog.pg_index x ON x.indexrelid = ic.oid AND x.indrelid = c.oid
CROSS JOIN LATERAL (
  SELECT CASE WHEN EXISTS (SELECT 1 FROM exclusive e WHERE e.relation = ic.oid) THEN NULL ELSE ic.oid END AS sized
) R
LEFT JOIN pg_catalog.pg_stat_all_indexes S ON S.indexrelid = ic.oid`;
}

/**
 * The metrics of `indexes` on the session `sql` (of their database), one entry per index in the
 * order given: undefined for an index that is missing or not an index of its table.
 *
 * @throws Error when the statement fails.
 */
export async function readIndexMetrics(
  sql: Sql,
  major: number,
  indexes: readonly IndexRef[],
): Promise<(RawMetric[] | undefined)[]> {
  const defs = relationMetricsFor(major, "index");
  return await readByPosition(sql, defs, indexStatement(defs), indexParams(indexes), indexes.length);
}

/**
 * Collects the PostgresqlIndexSamples of the indexes of `tree`, one database's discovered objects,
 * on `sql`, that database's own session, in the tree's order. One statement.
 *
 * @throws Error when a name is empty or the query fails.
 */
export async function collectIndexSamples(
  sql: Sql,
  caps: Pick<Capabilities, "version">,
  database: string,
  tree: DatabaseObjects,
  host: string,
  port: string | number,
): Promise<BaseSample[]> {
  const indexes = indexesOf(tree);
  const entities = indexes.map((x) => indexEntity(host, port, database, x.schema, x.table, x.index));
  const metrics = await readIndexMetrics(sql, caps.version.major, indexes);
  const out: BaseSample[] = [];
  indexes.forEach((x, i) => {
    if (!metrics[i]) return;
    out.push({
      entity: entities[i],
      eventType: INDEX_SAMPLE,
      metrics: [
        ...namingAttributes(entities[i]),
        { name: "database", sourceType: "attribute", value: database },
        { name: "schema", sourceType: "attribute", value: x.schema },
        { name: "table", sourceType: "attribute", value: x.table },
        ...metrics[i],
      ],
    });
  });
  return out;
}
