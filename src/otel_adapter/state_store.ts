/**
 * The OTLP export state of one-shot runs, kept in the state directory between processes: series
 * start times and previous values (so cumulative sums keep their start and delta sums their
 * previous value) and the previous slow-query counters (so `db.server.top_query` records carry
 * deltas from the second run on). A daemon keeps this state in memory only.
 *
 * The file is JSON `{version, series, topQueries}`; a missing file is a first run and a corrupt one
 * is reported and replaced, never fatal.
 *
 * @module
 */

import { join } from "node:path";
import { ensureStateDir, errorText, writeStateFile } from "../core/state_dir.ts";
import type { ExportState } from "./exporter.ts";
import { createTopQueryState, type TopQueryState } from "./logs.ts";
import { createSeriesState, seriesStateFromJson, seriesStateToJson } from "./metrics.ts";

/** Version of the state file format. */
export const OTEL_STATE_VERSION = 1;

/** A loaded state, and why it is empty when a file was expected but unusable. */
export interface LoadedExportState {
  /** The state to continue from. */
  readonly state: ExportState;
  /** Where it is saved. */
  readonly path: string;
  /** Set when the file existed but could not be used (the run starts from an empty state). */
  readonly problem?: string;
}

/** The file name of the export state of instance `host`:`port`, safe in a directory. */
export function exportStateName(host: string, port: string): string {
  return `otlp-${host}-${port}.json`.replace(/[^A-Za-z0-9._-]/g, "_");
}

function topQueriesToJson(state: TopQueryState): unknown {
  return [...state.previous];
}

function topQueriesFromJson(json: unknown): TopQueryState {
  if (!Array.isArray(json)) throw new Error("topQueries is not an array");
  const state = createTopQueryState();
  for (const [i, entry] of json.entries()) {
    const ok = Array.isArray(entry) && entry.length === 2 && typeof entry[0] === "string" &&
      typeof entry[1]?.calls === "number" && typeof entry[1]?.totalExecTimeMs === "number" &&
      (entry[1].rows === undefined || typeof entry[1].rows === "number");
    if (!ok) throw new Error(`topQueries[${i}] is not [key, {calls, totalExecTimeMs, rows?}]`);
    const { calls, totalExecTimeMs, rows } = entry[1];
    state.previous.set(
      entry[0],
      rows === undefined ? { calls, totalExecTimeMs } : { calls, totalExecTimeMs, rows },
    );
  }
  return state;
}

/** An empty export state. */
export function emptyExportState(): ExportState {
  return { series: createSeriesState(), topQueries: createTopQueryState() };
}

/**
 * Loads the export state saved in `dir` for `host`:`port`, creating `dir` when missing.
 *
 * @throws StateDirError when `dir` cannot be created or is not a directory
 */
export async function loadExportState(dir: string, host: string, port: string): Promise<LoadedExportState> {
  await ensureStateDir(dir, "OTLP state");
  const path = join(dir, exportStateName(host, port));
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { state: emptyExportState(), path };
    return { state: emptyExportState(), path, problem: `cannot read OTLP state ${path}: ${errorText(e)}` };
  }
  try {
    const doc = JSON.parse(text);
    if (doc?.version !== OTEL_STATE_VERSION) {
      throw new Error(`version ${doc?.version} is not ${OTEL_STATE_VERSION}`);
    }
    return {
      state: { series: seriesStateFromJson(doc.series), topQueries: topQueriesFromJson(doc.topQueries) },
      path,
    };
  } catch (e) {
    return {
      state: emptyExportState(),
      path,
      problem: `OTLP state ${path} is corrupt (${errorText(e)}): starting empty`,
    };
  }
}

/**
 * Saves `state` to `path` atomically.
 *
 * @throws StateDirError when the file cannot be written
 */
export async function saveExportState(path: string, state: ExportState): Promise<void> {
  const text = JSON.stringify({
    version: OTEL_STATE_VERSION,
    series: seriesStateToJson(state.series),
    topQueries: topQueriesToJson(state.topQueries),
  });
  await writeStateFile(path, text, "OTLP state");
}
