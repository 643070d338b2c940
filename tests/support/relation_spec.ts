/**
 * The table, bloat and index metrics of nri-postgresql's compatibility specification (§3.3,
 * checklist E and F), written from the specification once for every test that checks them.
 *
 * @module
 */

import type { RelationQuery } from "../../src/core/relation_catalog.ts";

/** Names and source types of the compatibility specification (§3.3, checklist E and F), in order. */
export const RELATION_SPEC: Record<RelationQuery, [string, "gauge" | "rate"][]> = {
  bloat: [
    ["table.bloatSizeInBytes", "gauge"],
    ["table.dataSizeInBytes", "gauge"],
    ["table.bloatRatio", "gauge"],
  ],
  table: [
    ["table.totalSizeInBytes", "gauge"],
    ["table.indexSizeInBytes", "gauge"],
    ["table.liveRows", "gauge"],
    ["table.deadRows", "gauge"],
    ["table.indexBlocksReadPerSecond", "rate"],
    ["table.indexBlocksHitPerSecond", "rate"],
    ["table.indexToastBlocksReadPerSecond", "rate"],
    ["table.indexToastBlocksHitPerSecond", "rate"],
    ["table.lastVacuum", "gauge"],
    ["table.lastAutoVacuum", "gauge"],
    ["table.lastAnalyze", "gauge"],
    ["table.lastAutoAnalyze", "gauge"],
    ["table.sequentialScansPerSecond", "rate"],
    ["table.sequentialScanRowsFetchedPerSecond", "rate"],
    ["table.indexScansPerSecond", "rate"],
    ["table.indexScanRowsFetchedPerSecond", "rate"],
    ["table.rowsInsertedPerSecond", "rate"],
    ["table.rowsUpdatedPerSecond", "rate"],
    ["table.rowsDeletedPerSecond", "rate"],
  ],
  index: [
    ["index.sizeInBytes", "gauge"],
    ["index.rowsReadPerSecond", "rate"],
    ["index.rowsFetchedPerSecond", "rate"],
  ],
};
