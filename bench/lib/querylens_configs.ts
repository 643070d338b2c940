/**
 * The server configurations of the pg_querylens overhead benchmark: no extension, a query-id-only
 * reference, pg_stat_statements at its defaults, and pg_querylens with its ring only, with its
 * sampler, and with CPU figures per execution. Each is stated completely on the server's command
 * line ({@link serverSettings}), so visiting one never inherits another's settings.
 *
 * @module
 */

import type { ServerSettings } from "./pg_server.ts";

/** Identifier of a measured configuration. */
export type ConfigId = "none" | "qid" | "pgss" | "ql_ring" | "ql_sampler" | "ql_cpu";

/** A server configuration the benchmark measures. */
export interface Configuration {
  /** Identifier (options and result keys). */
  id: ConfigId;
  /** What it is, for the report. */
  label: string;
  /** shared_preload_libraries, in order. */
  preload: string[];
  /** The extension's settings. */
  settings: ServerSettings;
  /** Whether the pgbench rounds visit it. */
  pgbench: boolean;
  /** Whether callgrind measures it (the sampler is a separate process that single-user mode never starts). */
  callgrind: boolean;
  /** Whether it has pg_querylens's self-timing. */
  selfTiming: boolean;
}

/**
 * Every configuration, the baseline (`none`) first. `qid` is a callgrind-only reference: both
 * extensions make the server compute query ids (which `compute_query_id = auto` does not do by
 * itself), and `qid` shows what that core work costs on its own.
 */
export const CONFIGURATIONS: readonly Configuration[] = [
  {
    id: "none",
    label: "no extension",
    preload: [],
    settings: {},
    pgbench: true,
    callgrind: true,
    selfTiming: false,
  },
  {
    id: "qid",
    label: "no extension, compute_query_id=on",
    preload: [],
    settings: { compute_query_id: "on" },
    pgbench: false,
    callgrind: true,
    selfTiming: false,
  },
  {
    id: "pgss",
    label: "pg_stat_statements (defaults)",
    preload: ["pg_stat_statements"],
    settings: {},
    pgbench: true,
    callgrind: true,
    selfTiming: false,
  },
  {
    id: "ql_ring",
    label: "pg_querylens ring only",
    preload: ["pg_querylens"],
    settings: { "pg_querylens.sample_period": "0", "pg_querylens.cpu": "off" },
    pgbench: true,
    callgrind: true,
    selfTiming: true,
  },
  {
    id: "ql_sampler",
    label: "pg_querylens ring + sampler (10 ms)",
    preload: ["pg_querylens"],
    settings: { "pg_querylens.sample_period": "10", "pg_querylens.cpu": "off" },
    pgbench: true,
    callgrind: false,
    selfTiming: true,
  },
  {
    id: "ql_cpu",
    label: "pg_querylens ring + cpu=thread",
    preload: ["pg_querylens"],
    settings: { "pg_querylens.sample_period": "0", "pg_querylens.cpu": "thread" },
    pgbench: true,
    callgrind: true,
    selfTiming: true,
  },
];

/** Settings of every configuration: the data set fits in shared buffers; nothing else differs. */
export const COMMON_SETTINGS: Readonly<ServerSettings> = {
  shared_buffers: "256MB",
  // PostgreSQL's default: query ids are computed when an extension asks for them (both do).
  compute_query_id: "auto",
  track_io_timing: "off",
};

/**
 * The configuration with identifier `id`.
 *
 * @throws Error naming the unknown identifier and the known ones.
 */
export function configuration(id: ConfigId): Configuration {
  const found = CONFIGURATIONS.find((c) => c.id === id);
  if (!found) {
    throw new Error(`unknown configuration "${id}" (known: ${CONFIGURATIONS.map((c) => c.id).join(", ")})`);
  }
  return found;
}

/** Whether the configuration preloads pg_querylens. */
export function usesQuerylens(c: Configuration): boolean {
  return c.preload.includes("pg_querylens");
}

/** The full server settings of a configuration. */
export function serverSettings(c: Configuration): ServerSettings {
  return { ...COMMON_SETTINGS, shared_preload_libraries: c.preload.join(","), ...c.settings };
}
