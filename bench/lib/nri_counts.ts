/**
 * What a collector run produced, counted from its NRI protocol-v3 documents on stdout: metric sets
 * per event type, entities per entity type, and metric values (numeric fields of metric sets).
 *
 * @module
 */

/** Counts of one run's output. */
export interface NriCounts {
  /** Metric sets per `event_type`. */
  samplesByType: Map<string, number>;
  /**
   * Distinct entities (by type, name and identity attributes, so same-named tables of different
   * databases count apart) per entity type, among data items carrying metric sets.
   */
  entitiesByType: Map<string, number>;
  /** Numeric fields over all metric sets (attributes are strings and do not count). */
  metricValues: number;
}

function increment(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/**
 * Counts the metric sets, entities and metric values of the NRI documents in `stdout` (one JSON
 * document per line).
 *
 * @throws Error naming the line when a non-empty line is not a JSON document.
 */
export function countNri(stdout: string): NriCounts {
  const samplesByType = new Map<string, number>();
  const entities = new Map<string, Set<string>>();
  let metricValues = 0;
  for (const [i, line] of stdout.split("\n").entries()) {
    if (line.trim() === "") continue;
    let doc;
    try {
      doc = JSON.parse(line);
    } catch (e) {
      throw new Error(`stdout line ${i + 1} is not a JSON document: ${(e as Error).message}`);
    }
    for (const item of doc.data ?? []) {
      const metrics: Record<string, unknown>[] = item.metrics ?? [];
      if (metrics.length === 0) continue;
      const type = String(item.entity?.type ?? "(local entity)");
      const names = entities.get(type) ?? new Set<string>();
      names.add(JSON.stringify([item.entity?.name ?? "", item.entity?.id_attributes ?? []]));
      entities.set(type, names);
      for (const set of metrics) {
        increment(samplesByType, String(set.event_type ?? "(no event_type)"));
        metricValues += Object.values(set).filter((v) => typeof v === "number").length;
      }
    }
  }
  const entitiesByType = new Map([...entities].map(([type, names]) => [type, names.size]));
  return { samplesByType, entitiesByType, metricValues };
}
