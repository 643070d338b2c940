/**
 * Active-session samples of one cycle aggregated by database, role, state, wait event and query id.
 *
 * Each group counts its session-samples, the distinct backends among them, the samples that were
 * blocked by another backend's lock (and by which pids), and the CPU seconds measured for them. Its
 * average active sessions are its session-samples divided by the samples taken in the window —
 * samples × interval ÷ window, with the window the sampled time (samples taken × interval), so a
 * sample that failed neither adds nor dilutes.
 *
 * The number of groups is bounded ({@link MAX_ASH_GROUPS}): the largest groups are kept and the
 * session-samples of the others are counted as overflow.
 *
 * @module
 */

import type { AshAggregate } from "../../core/model.ts";
import type { AshSample, AshSession } from "./sampler.ts";

/** Most groups one cycle publishes. */
export const MAX_ASH_GROUPS = 1000;

/** Most blocking pids listed per group. */
export const MAX_BLOCKING_PIDS = 20;

/** The groups of a window and what did not fit. */
export interface AshAggregation {
  /** Groups, most session-samples first (ties in key order). */
  aggregates: AshAggregate[];
  /** Session-samples of the groups beyond the bound. */
  overflow: number;
}

interface Group {
  key: string;
  first: AshSession;
  samples: number;
  pids: Set<number>;
  cpuSeconds: number;
  cpuSamples: number;
  blockedSamples: number;
  blockers: Set<number>;
}

function groupKey(s: AshSession): string {
  return [
    s.databaseName,
    s.userName ?? "",
    s.state,
    s.waitEventType ?? "",
    s.waitEvent ?? "",
    s.queryId ?? "",
  ]
    .join("\u0000");
}

/** RFC 3339 in UTC with milliseconds. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Aggregates `samples` (one cycle's window, taken `intervalMs` apart) into at most `maxGroups`
 * groups. No samples, no groups.
 */
export function aggregateAsh(
  samples: readonly AshSample[],
  intervalMs: number,
  maxGroups: number = MAX_ASH_GROUPS,
): AshAggregation {
  if (samples.length === 0) return { aggregates: [], overflow: 0 };
  const groups = new Map<string, Group>();
  for (const sample of samples) {
    for (const s of sample.sessions) {
      const key = groupKey(s);
      let g = groups.get(key);
      if (g === undefined) {
        g = {
          key,
          first: s,
          samples: 0,
          pids: new Set(),
          cpuSeconds: 0,
          cpuSamples: 0,
          blockedSamples: 0,
          blockers: new Set(),
        };
        groups.set(key, g);
      }
      g.samples++;
      g.pids.add(s.pid);
      if (s.cpuSeconds !== undefined) {
        g.cpuSeconds += s.cpuSeconds;
        g.cpuSamples++;
      }
      if (s.blockingPids !== undefined && s.blockingPids.length > 0) {
        g.blockedSamples++;
        for (const pid of s.blockingPids) g.blockers.add(pid);
      }
    }
  }
  const ordered = [...groups.values()].sort((a, b) =>
    b.samples - a.samples || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
  const kept = ordered.slice(0, maxGroups);
  const overflow = ordered.slice(maxGroups).reduce((n, g) => n + g.samples, 0);
  const startMs = samples[0].atMs;
  const endMs = samples[samples.length - 1].atMs;
  const aggregates = kept.map((g): AshAggregate => {
    const s = g.first;
    const row: AshAggregate = {
      databaseName: s.databaseName,
      state: s.state,
      samples: g.samples,
      sessions: g.pids.size,
      averageActiveSessions: Math.round((g.samples / samples.length) * 10_000) / 10_000,
      cpuSamples: g.cpuSamples,
      blockedSamples: g.blockedSamples,
      windowSamples: samples.length,
      sampleIntervalMs: intervalMs,
      windowStart: rfc3339(startMs),
      windowStartUnixMs: startMs,
      windowEnd: rfc3339(endMs),
      windowEndUnixMs: endMs,
    };
    if (s.userName !== undefined) row.userName = s.userName;
    if (s.waitEventType !== undefined) row.waitEventType = s.waitEventType;
    if (s.waitEvent !== undefined) row.waitEvent = s.waitEvent;
    if (s.queryId !== undefined) row.queryId = s.queryId;
    if (g.cpuSamples > 0) row.cpuSeconds = Math.round(g.cpuSeconds * 1000) / 1000;
    if (g.blockers.size > 0) {
      row.blockingPids = [...g.blockers].sort((a, b) => a - b).slice(0, MAX_BLOCKING_PIDS).join(",");
    }
    return row;
  });
  return { aggregates, overflow };
}
