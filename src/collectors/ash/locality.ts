/**
 * Whether the monitored server's backends are processes of this host, so their CPU time can be read
 * from `/proc`.
 *
 * A host name alone does not settle it: a server in a container on this host is reached at
 * `localhost` while its process ids belong to another PID namespace. The check is therefore made on
 * the processes themselves. The configured host must be local (`localhost`, a loopback address or a
 * socket directory); then the collector's own session on the server must be, in this host's
 * `/proc`, a `postgres` process whose start time is the session's `backend_start`, and its parent a
 * `postgres` process whose start time is `pg_postmaster_start_time()`. Each later reading of a
 * backend's `/proc` entry is checked the same way ({@link isBackendOf}), so a pid that was reused,
 * or that names another process here, never lends its CPU time to a session.
 *
 * Start times are compared within {@link START_TOLERANCE_MS}: `/proc` gives the boot time in whole
 * seconds, and the server stamps a process shortly after it was forked.
 *
 * `/proc` is read through an injected reader; the default, `Deno.readTextFileSync`, is refused by
 * Deno to a process without `--allow-all`, which ends the check with that reason
 * ({@link ProcNotPermitted}).
 *
 * @module
 */

import type { Session } from "../../query_engine/connection.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { isLocalHost } from "../querylens/collect.ts";
import {
  bootTimeMs,
  processStartMs,
  ProcNotPermitted,
  type ProcStat,
  type ReadProcFile,
  readProcFile,
  readProcStat,
} from "./proc_stat.ts";

/** Largest difference between a start time in `/proc` and the server's, in milliseconds. */
export const START_TOLERANCE_MS = 5_000;

/** The server's postmaster as found in this host's `/proc`. */
export interface LocalServer {
  /** Process id of the postmaster (the parent of every backend). */
  postmasterPid: number;
  /** Boot time of this host, ms since the epoch. */
  bootMs: number;
}

/** Outcome of {@link probeLocality}. */
export type Locality =
  | { local: true; server: LocalServer }
  | {
    local: false;
    /** True when the host name is not local; false when it is but `/proc` does not show the server. */
    remote: boolean;
    /** Why CPU cannot be read, for the operator. */
    reason: string;
  };

/** What the server says about the collector's own session. */
export interface ServerFacts {
  /** `pg_backend_pid()` of the session. */
  backendPid: number;
  /** Its `backend_start`, ms since the epoch. */
  backendStartMs: number;
  /** `pg_postmaster_start_time()`, ms since the epoch. */
  postmasterStartMs: number;
}

const near = (a: number, b: number) => Math.abs(a - b) <= START_TOLERANCE_MS;

/**
 * Whether `stat` is the backend the server knows as started at `backendStartMs`: a child of the
 * server's postmaster with that start time.
 */
export function isBackendOf(
  stat: ProcStat | undefined,
  server: LocalServer,
  backendStartMs: number | undefined,
): boolean {
  return stat !== undefined && backendStartMs !== undefined && stat.ppid === server.postmasterPid &&
    near(processStartMs(stat, server.bootMs), backendStartMs);
}

/** Checks `facts` against this host's `/proc` (read through `read`). */
export function checkLocality(facts: ServerFacts, read: ReadProcFile = readProcFile): Locality {
  const notLocal = (reason: string): Locality => ({ local: false, remote: false, reason });
  let bootMs;
  try {
    bootMs = bootTimeMs(read);
  } catch (e) {
    if (e instanceof ProcNotPermitted) return notLocal(e.message);
    throw e;
  }
  if (bootMs === undefined) return notLocal("/proc/stat cannot be read");
  const pid = facts.backendPid;
  const own = readProcStat(pid, read);
  if (own === undefined) {
    return notLocal(
      `/proc/${pid}/stat of the collector's backend cannot be read (the server runs in another PID ` +
        `namespace, or /proc hides other users' processes)`,
    );
  }
  const started = processStartMs(own, bootMs);
  if (!own.comm.startsWith("postgres") || !near(started, facts.backendStartMs)) {
    return notLocal(
      `process ${pid} on this host is "${own.comm}" started at ${new Date(started).toISOString()}, not ` +
        `the server's backend ${pid} started at ${new Date(facts.backendStartMs).toISOString()} (the ` +
        `server runs in another PID namespace, e.g. a container, or on another host)`,
    );
  }
  const parent = readProcStat(own.ppid, read);
  const parentStarted = parent === undefined ? undefined : processStartMs(parent, bootMs);
  if (
    parent === undefined || parentStarted === undefined || !parent.comm.startsWith("postgres") ||
    !near(parentStarted, facts.postmasterStartMs)
  ) {
    return notLocal(
      `the parent ${own.ppid} of backend ${pid} on this host is not the server's postmaster started at ` +
        `${new Date(facts.postmasterStartMs).toISOString()}`,
    );
  }
  return { local: true, server: { postmasterPid: own.ppid, bootMs } };
}

/** Why a server configured as `hostname` is not taken for this host's, or undefined when it may be. */
export function remoteReason(hostname: string): string | undefined {
  return isLocalHost(hostname) ? undefined : `the server ${hostname} is not known to be this host ` +
    `(only localhost, a loopback address or a socket directory is)`;
}

/**
 * Finds out whether the server behind `sql` (configured as `hostname`) runs on this host with its
 * backends visible in `/proc`. One statement when the host name is local, none otherwise.
 */
export async function probeLocality(
  sql: Session,
  hostname: string,
  read: ReadProcFile = readProcFile,
): Promise<Locality> {
  const remote = remoteReason(hostname);
  if (remote !== undefined) return { local: false, remote: true, reason: remote };
  const rows = await sql.unsafe(
    `${MARKER} SELECT pg_backend_pid() AS pid,
       (extract(epoch FROM pg_postmaster_start_time()) * 1000)::float8 AS postmaster_start_ms,
       (SELECT (extract(epoch FROM a.backend_start) * 1000)::float8 FROM pg_stat_activity a
         WHERE a.pid = pg_backend_pid()) AS backend_start_ms`,
  );
  const r = rows[0];
  return checkLocality(
    {
      backendPid: Number(r.pid),
      backendStartMs: Number(r.backend_start_ms),
      postmasterStartMs: Number(r.postmaster_start_ms),
    },
    read,
  );
}
