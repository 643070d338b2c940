/**
 * The `-verbose` line a cycle logs about pg_querylens: where the records came from, how many were
 * read and lost, and what the adaptive sampler kept and left out, by reason.
 *
 * @module
 */

import type { QueryLensStats } from "../../core/model.ts";

function reasons(counts: Record<string, number>): string {
  const parts = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** One line for the log, e.g. `querylens: ffi; 812 records read, 0 lost; kept slow 3, ...`. */
export function queryLensSummary(stats: QueryLensStats): string {
  return `querylens: ${stats.source}; ${stats.cycleRecordsRead} records read, ${stats.cycleRecordsLost} lost` +
    `; kept ${reasons(stats.cycleSampled.kept)}; sampled out ${reasons(stats.cycleSampled.sampledOut)}` +
    (stats.aggregateOverflow > 0 ? `; ${stats.aggregateOverflow} beyond the aggregate limit` : "");
}
