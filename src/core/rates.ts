/**
 * Rates and deltas of base samples, with the previous values kept between cycles: in memory for
 * the daemon, or in a JSON file of a state directory for one-shot runs (the agent starts the binary
 * once per interval, so the previous value must survive the process).
 *
 * Semantics follow nri-postgresql's SDK (v3). A stored value is keyed by the entity key, the event
 * type, the sample's attributes (name and value, sorted by name: so rows of one query that share an
 * entity, such as custom-query rows or PgBouncer pools per user, keep apart) and the metric name.
 * Attributes that only name the entity ({@link NAMING_ATTRIBUTES}: they repeat what the entity key
 * holds) are left out of the key, which keeps the state of thousands of tables small.
 * Per source type:
 * - `rate`: (value - previous) / seconds elapsed; negative results are kept;
 * - `prate`: as `rate`, but a negative difference (counter reset) gives 0;
 * - `delta`: value - previous; `pdelta`: the same clamped at 0;
 * - `gauge`: the number as is; `attribute`: the value as a string.
 *
 * The first observation of a key gives 0, and so does a stored value older than the TTL
 * (`cache_ttl`), which counts as absent. Elapsed time is measured in milliseconds (the SDK rounds to
 * whole seconds). Numeric strings (as bigint columns arrive) are read as numbers. A value that is
 * not a finite number, or a rate whose elapsed time is zero or negative (clock set back), is left
 * out of the published sample and counted.
 *
 * State file `<dir>/<name>.json`: `{"version":2,"entries":{"<key>":{"value":n,"timestampMs":n}}}`,
 * written atomically (temporary file in the same directory, then rename), mode 0600, in a directory
 * created with mode 0700 when missing.
 *
 * @module
 */

import { join } from "node:path";
import { entityKey } from "./entity_key.ts";
import { ensureStateDir, errorText, StateDirError, writeStateFile } from "./state_dir.ts";
import type { BaseEntity, BaseSample, RawMetric } from "./model.ts";

/**
 * Attributes that name a sample's entity rather than tell rows apart: `displayName` and `entityName`
 * derive from the entity, and `database`, `schema`, `table` and `host` repeat its identity
 * attributes.
 */
export const NAMING_ATTRIBUTES: ReadonlySet<string> = new Set([
  "displayName",
  "entityName",
  "database",
  "schema",
  "table",
  "host",
]);

/** Default validity of stored values, in seconds (nri-postgresql's `cache_ttl` default, 6m). */
export const DEFAULT_CACHE_TTL_SECONDS = 360;

const FILE_VERSION = 2;

/** A base sample with rates and deltas computed: ready to publish. */
export interface RatedSample {
  /** The entity the sample belongs to. */
  entity: BaseEntity;
  /** Event type, e.g. `PostgresqlDatabaseSample`. */
  eventType: string;
  /** `[name, value]` in collection order: a number is a metric, a string an attribute. */
  values: [string, number | string][];
  /** Names of the metrics left out because their result was not a finite number. */
  dropped: string[];
}

/** Why a store started empty although a state directory was given. */
export interface StateLoadReport {
  /** `missing`: no state file yet (normal on a first run); `corrupt`: the file could not be used. */
  kind: "missing" | "corrupt";
  /** The state file concerned. */
  path: string;
  /** Human-readable message naming the file and the problem. */
  message: string;
}

/** The state directory or file cannot be created or written (the message names the path). */
export const RateStoreError = StateDirError;

interface Entry {
  value: number;
  timestampMs: number;
}

/** Stores previous counter values and turns raw samples into published ones. */
export class RateStore {
  /** The state file, or undefined for a memory-only store. */
  readonly path: string | undefined;
  /** Set when a state file was expected but the store started empty (missing or corrupt file). */
  readonly loadReport: StateLoadReport | undefined;
  readonly #ttlMs: number;
  readonly #entries: Map<string, Entry>;
  #droppedCount = 0;

  private constructor(
    path: string | undefined,
    ttlSeconds: number,
    entries: Map<string, Entry>,
    report: StateLoadReport | undefined,
  ) {
    this.path = path;
    this.#ttlMs = ttlSeconds * 1000;
    this.#entries = entries;
    this.loadReport = report;
  }

  /** A store kept in memory only (daemon mode); `save` only prunes expired values. */
  static memory(ttlSeconds: number = DEFAULT_CACHE_TTL_SECONDS): RateStore {
    return new RateStore(undefined, checkTtl(ttlSeconds), new Map(), undefined);
  }

  /**
   * Opens the store of `<dir>/<name>.json`, creating `dir` (mode 0700) when missing. A missing or
   * corrupt file gives an empty store with {@link RateStore.loadReport} set; it never throws on
   * the file's content. With `dir` undefined, returns a memory-only store.
   *
   * @throws {RateStoreError} when `dir` cannot be created or is not a directory.
   * @throws {RangeError} when `ttlSeconds` is not a positive finite number.
   * @throws {TypeError} when `name` is empty or not a plain file name.
   */
  static async load(
    dir: string | undefined,
    name: string,
    ttlSeconds: number = DEFAULT_CACHE_TTL_SECONDS,
  ): Promise<RateStore> {
    checkName(name);
    const ttl = checkTtl(ttlSeconds);
    if (dir === undefined) return RateStore.memory(ttl);
    await ensureStateDir(dir, "rate state");
    const path = join(dir, `${name}.json`);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        const message = `no rate state at ${path}: rates and deltas start at 0 this cycle`;
        return new RateStore(path, ttl, new Map(), { kind: "missing", path, message });
      }
      const message = `cannot read rate state ${path} (${errorText(e)}): starting empty`;
      return new RateStore(path, ttl, new Map(), { kind: "corrupt", path, message });
    }
    const parsed = parseState(text);
    if (typeof parsed === "string") {
      const message = `rate state ${path} is corrupt (${parsed}): starting empty`;
      return new RateStore(path, ttl, new Map(), { kind: "corrupt", path, message });
    }
    let report: StateLoadReport | undefined;
    if (parsed.skipped > 0) {
      const message = `rate state ${path}: ${parsed.skipped} malformed entr${
        parsed.skipped === 1 ? "y" : "ies"
      } ignored`;
      report = { kind: "corrupt", path, message };
    }
    return new RateStore(path, ttl, parsed.entries, report);
  }

  /** Number of results left out so far because they were not finite numbers. */
  get droppedCount(): number {
    return this.#droppedCount;
  }

  /** Number of stored values. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Computes the published values of `sample` observed at `nowMs` (epoch milliseconds), and
   * stores its counters for the next observation.
   */
  apply(sample: BaseSample, nowMs: number): RatedSample {
    const attributes = sample.metrics.filter((m) =>
      m.sourceType === "attribute" && !NAMING_ATTRIBUTES.has(m.name)
    )
      .map((m) => `${m.name}=${m.value}`).sort();
    const prefix = JSON.stringify([entityKey(sample.entity), sample.eventType, ...attributes]);
    const values: [string, number | string][] = [];
    const dropped: string[] = [];
    for (const m of sample.metrics) {
      const out = this.#compute(prefix, m, nowMs);
      if (out === undefined) {
        dropped.push(m.name);
        this.#droppedCount++;
      } else {
        values.push([m.name, out]);
      }
    }
    return { entity: sample.entity, eventType: sample.eventType, values, dropped };
  }

  /**
   * Prunes values older than the TTL at `nowMs`, then writes the state file atomically (nothing is
   * written for a memory-only store).
   *
   * @throws {RateStoreError} when the file cannot be written; no temporary file is left behind.
   */
  async save(nowMs: number = Date.now()): Promise<void> {
    for (const [key, entry] of this.#entries) {
      if (nowMs - entry.timestampMs > this.#ttlMs) this.#entries.delete(key);
    }
    if (this.path === undefined) return;
    const entries: Record<string, Entry> = {};
    for (const [key, entry] of this.#entries) entries[key] = entry;
    const text = JSON.stringify({ version: FILE_VERSION, entries });
    await writeStateFile(this.path, text, "rate state");
  }

  #compute(prefix: string, m: RawMetric, nowMs: number): number | string | undefined {
    if (m.sourceType === "attribute") return String(m.value);
    const value = toNumber(m.value);
    if (value === undefined) return undefined;
    if (m.sourceType === "gauge") return value;
    const key = prefix + m.name;
    const prev = this.#entries.get(key);
    this.#entries.set(key, { value, timestampMs: nowMs });
    if (prev === undefined || nowMs - prev.timestampMs > this.#ttlMs) return 0;
    const diff = value - prev.value;
    switch (m.sourceType) {
      case "delta":
        return finite(diff);
      case "pdelta":
        return finite(Math.max(diff, 0));
      case "rate":
      case "prate": {
        const elapsedMs = nowMs - prev.timestampMs;
        if (elapsedMs <= 0) return undefined;
        if (m.sourceType === "prate" && diff < 0) return 0;
        return finite(diff / (elapsedMs / 1000));
      }
    }
  }
}

function finite(n: number): number | undefined {
  return Number.isFinite(n) ? n : undefined;
}

function toNumber(v: number | string): number | undefined {
  if (typeof v === "number") return finite(v);
  if (v.trim() === "") return undefined;
  return finite(Number(v));
}

function checkTtl(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`cache_ttl must be a positive number of seconds, got ${ttlSeconds}`);
  }
  return ttlSeconds;
}

function checkName(name: string): void {
  if (name === "" || name === "." || name === ".." || /[/\\\0]/.test(name)) {
    throw new TypeError(`rate state name must be a plain file name, got ${JSON.stringify(name)}`);
  }
}

function parseState(text: string): { entries: Map<string, Entry>; skipped: number } | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${errorText(e)}`;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "not a JSON object";
  const { version, entries } = doc as { version?: unknown; entries?: unknown };
  if (version !== FILE_VERSION) return `unsupported version ${JSON.stringify(version)}`;
  if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
    return `"entries" is not an object`;
  }
  const out = new Map<string, Entry>();
  let skipped = 0;
  for (const [key, raw] of Object.entries(entries)) {
    const e = raw as { value?: unknown; timestampMs?: unknown } | null;
    if (
      typeof e === "object" && e !== null && typeof e.value === "number" && Number.isFinite(e.value) &&
      typeof e.timestampMs === "number" && Number.isFinite(e.timestampMs)
    ) {
      out.set(key, { value: e.value, timestampMs: e.timestampMs });
    } else {
      skipped++;
    }
  }
  return { entries: out, skipped };
}
