/**
 * The plan dictionary's file in the state directory (`temp_dir`), one per monitored instance, so
 * the dictionary survives restarts of a daemon and spans the one-shot runs the agent starts every
 * interval. Written atomically, mode 0600; a missing file is a first run, and an unreadable or
 * corrupt one is reported and the run starts with an empty dictionary (the file is replaced at
 * the next save).
 *
 * @module
 */

import { join } from "node:path";
import { ensureStateDir, errorText, writeStateFile } from "../../core/state_dir.ts";
import { createDictionary, type PlanDictionary } from "./dictionary.ts";
import { dictionaryFromJson, dictionaryToJson } from "./dictionary_json.ts";

/** A loaded dictionary, where it is saved, and why it is empty when the file was unusable. */
export interface LoadedDictionary {
  /** The dictionary to continue from. */
  readonly dict: PlanDictionary;
  /** Where it is saved. */
  readonly path: string;
  /** Set when the file existed but could not be used (the run starts empty). */
  readonly problem?: string;
}

/** The file name of the plan dictionary of instance `host`:`port`, safe in a directory. */
export function planStateName(host: string, port: string): string {
  return `plans-${host}-${port}.json`.replace(/[^A-Za-z0-9._-]/g, "_");
}

/**
 * Loads the plan dictionary saved in `dir` for `host`:`port` (creating `dir` when missing),
 * keeping at most `maxPlans` plans.
 *
 * @throws StateDirError when `dir` cannot be created or is not a directory
 */
export async function loadPlanDictionary(
  dir: string,
  host: string,
  port: string,
  maxPlans: number,
): Promise<LoadedDictionary> {
  await ensureStateDir(dir, "plan dictionary");
  const path = join(dir, planStateName(host, port));
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { dict: createDictionary(maxPlans), path };
    return {
      dict: createDictionary(maxPlans),
      path,
      problem: `cannot read plan dictionary ${path} (${errorText(e)}): starting empty`,
    };
  }
  try {
    return { dict: dictionaryFromJson(JSON.parse(text), maxPlans), path };
  } catch (e) {
    return {
      dict: createDictionary(maxPlans),
      path,
      problem: `plan dictionary ${path} is corrupt (${errorText(e)}): starting empty`,
    };
  }
}

/**
 * Saves `dict` to `path` atomically, mode 0600.
 *
 * @throws StateDirError when the file cannot be written
 */
export async function savePlanDictionary(path: string, dict: PlanDictionary): Promise<void> {
  await writeStateFile(path, JSON.stringify(dictionaryToJson(dict)), "plan dictionary");
}
