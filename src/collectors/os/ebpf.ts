/**
 * The eBPF tier in the collection cycle: per query, where its latency went (on CPU, waiting for a
 * CPU, waiting for block I/O, sleeping on locks, latches or the client), measured by the BPF program
 * of `bpf/` through the loader of `ffi/` (see `src/extensions/bpf_ffi.ts`).
 *
 * Off by default (`[ebpf] enabled = false`): every hit of a query probe traps into the kernel (about
 * 1.5 µs of CPU on the test VMs, see the README), for every process that runs the server's binary. When
 * enabled:
 *
 * - {@link EbpfTier.attach} (early in each cycle) finds the server's postmaster on this host (the
 *   parent of the collector's own backend, checked against the start times the server reports),
 *   checks the requirements and attaches to its executable. When something is missing (root or
 *   CAP_SYS_ADMIN to attach uprobes, BTF, uprobes, the server's executable or its USDT probes, the native
 *   parts) it reports one warning, component `os.ebpf`, that says what and why; the rest of the
 *   collection goes on unchanged, and the tier tries again only when the postmaster changes. A new
 *   postmaster (a restart) gets the programs detached and attached to it.
 * - In daemon mode the ring buffer is polled every {@link DAEMON_POLL_MS} ms between cycles; events
 *   wait (at most {@link MAX_PENDING_EVENTS}, the rest counted) for the next cycle.
 * - {@link EbpfTier.collect} (after pg_querylens) turns this cycle's events into
 *   `snap.queryOsDelays`: the collector's own sessions and statements are left out, each backend's
 *   database and role come from pg_stat_activity, texts lose their literals, and executions
 *   pg_querylens recorded this cycle or the last are joined (see `ebpf_rows.ts`). `snap.ebpfStats`
 *   carries the program's counters. A failure to read detaches everything; the next cycle attaches
 *   again.
 * - {@link EbpfTier.close} detaches every probe and unloads the programs.
 *
 * A one-shot run attaches at the start of its cycle, so it sees only the queries that end while the
 * cycle runs; run with an interval to trace a workload.
 *
 * @module
 */

import type { Config } from "../../config/types.ts";
import type { CollectionIssue, QueryExecution, UnifiedMetrics } from "../../core/model.ts";
import {
  type BpfTierErrorCode,
  type NativePaths,
  openTracer,
  type OsDelayEvent,
  probeTier,
  processInfo,
  type Tracer,
  type TracerCounters,
} from "../../extensions/bpf_ffi.ts";
import { probeHits } from "../../extensions/bpf_event.ts";
import type { Session } from "../../query_engine/connection.ts";
import { isOwnStatement, MARKER } from "../../query_engine/marker.ts";
import { arrayLiteral } from "../../query_engine/params.ts";
import { initSqlParser, obfuscateSql } from "../../query_engine/sql_text.ts";
import { START_TOLERANCE_MS } from "../ash/locality.ts";
import { isLocalHost } from "../querylens/collect.ts";
import { type BackendNames, osDelayRow } from "./ebpf_rows.ts";

/** Component of the tier's issues. */
export const COMPONENT = "os.ebpf";
/** Milliseconds between reads of the ring buffer in daemon mode. */
export const DAEMON_POLL_MS = 100;
/** Most events kept between cycles; later ones are counted in `eventOverflow`. */
export const MAX_PENDING_EVENTS = 20_000;

/** What one cycle gives the tier. */
export interface EbpfCycleInput {
  /** Session on the monitored server. */
  sql: Session;
  /** Issue sink. */
  report(issue: CollectionIssue): void;
}

/** The server's postmaster on this host, or why it was not found. */
export type PostmasterLookup = { pid: number } | { reason: string };

/**
 * Finds the postmaster of the server behind `sql` among this host's processes: the parent of the
 * session's backend, when both start times match what the server reports (so a server in another
 * PID namespace is not mistaken for a process here). One statement when the host name is local.
 */
export async function findPostmaster(
  sql: Session,
  hostname: string,
  paths: NativePaths = {},
): Promise<PostmasterLookup> {
  if (!isLocalHost(hostname)) {
    return {
      reason: `the server ${hostname} is not on this host (only localhost, a loopback address or a ` +
        `socket directory is)`,
    };
  }
  const rows = await sql.unsafe(
    `${MARKER} SELECT pg_backend_pid() AS pid,
       (extract(epoch FROM pg_postmaster_start_time()) * 1000)::float8 AS postmaster_start_ms,
       (SELECT (extract(epoch FROM a.backend_start) * 1000)::float8 FROM pg_stat_activity a
         WHERE a.pid = pg_backend_pid()) AS backend_start_ms`,
  );
  const backendPid = Number(rows[0].pid);
  const near = (a: number, b: number) => Math.abs(a - b) <= START_TOLERANCE_MS;
  const backend = processInfo(backendPid, paths.libraryPath);
  if (!backend || !near(backend.startMs, Number(rows[0].backend_start_ms))) {
    return {
      reason: `the collector's backend (pid ${backendPid}) is not a process of this host ` +
        `(is the server in another PID namespace?)`,
    };
  }
  const postmaster = processInfo(backend.ppid, paths.libraryPath);
  if (!postmaster || !near(postmaster.startMs, Number(rows[0].postmaster_start_ms))) {
    return {
      reason: `the parent of the collector's backend (pid ${backend.ppid}) is not the server's postmaster`,
    };
  }
  return { pid: backend.ppid };
}

/** The first words of the message for a missing requirement. */
function headline(code: BpfTierErrorCode): string {
  return code === "not_permitted" ? "eBPF tier not permitted" : "eBPF tier unavailable";
}

/** The eBPF tier of one monitored instance, kept across cycles. */
export class EbpfTier {
  readonly #config: Config;
  readonly #daemon: boolean;
  readonly #paths: NativePaths;
  #tracer: Tracer | undefined;
  #postmasterPid: number | undefined;
  /** The postmaster for which attaching failed (reported; not tried again until it changes). */
  #failedFor: number | undefined;
  #pending: OsDelayEvent[] = [];
  #overflow = 0;
  #since = 0;
  #lastRingFull = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pollError: Error | undefined;
  #previousExecutions: QueryExecution[] = [];

  /**
   * A tier that attaches at the first cycle's {@link attach}.
   *
   * @param config validated configuration
   * @param daemon whether cycles repeat (the ring buffer is then polled between cycles)
   * @param paths where the loader library and the BPF object are (this tree's by default)
   */
  constructor(config: Config, daemon: boolean, paths: NativePaths = {}) {
    this.#config = config;
    this.#daemon = daemon;
    this.#paths = paths;
  }

  /** Whether the tier is enabled by the configuration. */
  enabled(): boolean {
    return this.#config.ebpf.enabled;
  }

  /** Whether the programs are attached. */
  attached(): boolean {
    return this.#tracer !== undefined;
  }

  /**
   * Attaches to the server's postmaster unless attached to it already. Missing requirements are
   * reported once per postmaster, never thrown.
   */
  async attach(input: EbpfCycleInput): Promise<void> {
    if (!this.enabled()) return;
    let found: PostmasterLookup;
    try {
      found = await findPostmaster(input.sql, this.#config.hostname, this.#paths);
    } catch (e) {
      const err = e as Error & { code?: BpfTierErrorCode };
      this.#unavailable(input, err.code ?? "os_error", err.message);
      return;
    }
    if (!("pid" in found)) {
      if (this.#tracer) this.#detach();
      this.#unavailable(input, "no_binary", found.reason);
      return;
    }
    const pm = found.pid;
    if (this.#tracer && this.#postmasterPid === pm) return;
    if (this.#tracer) {
      this.#detach();
      input.report({
        component: COMPONENT,
        cause: "postmaster_changed",
        severity: "warning",
        message: `the server restarted (postmaster ${this.#postmasterPid} → ${pm}): eBPF tier attached again`,
      });
    }
    if (this.#failedFor === pm) return;
    const probe = probeTier(pm, this.#paths);
    if (!probe.ok) {
      this.#failedFor = pm;
      this.#unavailable(input, probe.code, probe.message);
      return;
    }
    try {
      const tracer = openTracer(pm, {
        ...this.#paths,
        thresholdNs: Math.round(this.#config.ebpf.thresholdMs * 1e6),
        sampleEvery: this.#config.ebpf.sampleEvery,
      });
      this.#tracer = tracer;
      this.#postmasterPid = pm;
      this.#failedFor = undefined;
      this.#since = Date.now();
      this.#lastRingFull = 0;
      const d = tracer.description;
      input.report({
        component: COMPONENT,
        cause: `attached:${pm}`,
        severity: "debug",
        message: `eBPF tier attached to ${d.executable} (postmaster ${pm}): ${d.usdtLinks} USDT probes, ` +
          `${d.tracepointLinks} scheduler hooks${d.errorProbe ? ", error recovery" : ""}; threshold ` +
          `${this.#config.ebpf.thresholdMs} ms, one query in ${d.sampleEvery}`,
      });
      if (this.#daemon) this.#startPolling();
    } catch (e) {
      this.#failedFor = pm;
      const err = e as Error & { code?: BpfTierErrorCode };
      this.#unavailable(input, err.code ?? "os_error", err.message);
    }
  }

  /**
   * Fills `snap.queryOsDelays` and `snap.ebpfStats` with what the program measured since the last
   * cycle; runs after pg_querylens so its executions can be joined. Failures are reported, never
   * thrown; a failure to read detaches the programs.
   */
  async collect(input: EbpfCycleInput, snap: UnifiedMetrics): Promise<void> {
    const tracer = this.#tracer;
    if (!tracer) return;
    let counters: TracerCounters;
    try {
      this.#pollNow();
      if (this.#pollError) throw this.#pollError;
      counters = tracer.counters();
    } catch (e) {
      this.#detach();
      input.report({
        component: COMPONENT,
        cause: `read:${(e as Error).message}`,
        severity: "error",
        message: `cannot read the eBPF tier's events (its programs were detached; the next cycle attaches ` +
          `again): ${(e as Error).message}`,
      });
      return;
    }
    const events = this.#pending;
    this.#pending = [];
    const executions = [...this.#previousExecutions, ...(snap.queryExecutions ?? [])];
    this.#previousExecutions = snap.queryExecutions ?? [];
    try {
      const backends = await this.#backends(input.sql, events);
      const wanted = events.filter((e) => !backends.own.has(e.pid) && !(e.text && isOwnStatement(e.text)));
      if (wanted.some((e) => e.text !== undefined)) await initSqlParser();
      const clockOffsetNs = tracer.clockOffsetNs();
      snap.queryOsDelays = wanted
        .map((e) =>
          osDelayRow(e, { clockOffsetNs, backends: backends.names, executions, obfuscate: obfuscateSql })
        )
        .sort((a, b) => a.startUnixUs - b.startUnixUs);
    } catch (e) {
      input.report({
        component: COMPONENT,
        cause: `rows:${(e as Error).message}`,
        severity: "warning",
        message: `eBPF tier: cannot name the traced backends (this cycle's queries are left out): ${
          (e as Error).message
        }`,
      });
    }
    snap.ebpfStats = {
      sinceUnixMs: this.#since,
      probeHits: probeHits(counters),
      queriesClosed: counters.closed,
      eventsEmitted: counters.emitted,
      belowThreshold: counters.belowThreshold,
      ringFull: counters.ringFull,
      orphaned: counters.orphaned,
      unsampled: counters.unsampled,
      inflightFull: counters.inflightFull,
      cycleEvents: events.length,
      eventOverflow: this.#overflow,
    };
    if (counters.ringFull > this.#lastRingFull) {
      input.report({
        component: COMPONENT,
        cause: "ring_full",
        severity: "warning",
        message: `the eBPF ring buffer was full: ${counters.ringFull - this.#lastRingFull} traced queries ` +
          `were lost (raise ebpf_threshold_ms or ebpf_sample_every)`,
      });
    }
    this.#lastRingFull = counters.ringFull;
  }

  /** Stops polling and detaches every probe. Safe to call twice. */
  close(): void {
    this.#detach();
  }

  #unavailable(input: EbpfCycleInput, code: BpfTierErrorCode, message: string): void {
    input.report({
      component: COMPONENT,
      cause: `unavailable:${code}`,
      severity: "warning",
      message: `${headline(code)}: ${message}; per-query OS delay (PostgresQueryOsDelays) is not ` +
        `collected, everything else is`,
    });
  }

  #startPolling(): void {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => this.#pollNow(), DAEMON_POLL_MS);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Moves what the ring buffer holds into the pending events; keeps a failure for collect(). */
  #pollNow(): void {
    if (!this.#tracer) return;
    try {
      const room = MAX_PENDING_EVENTS - this.#pending.length;
      const events = this.#tracer.poll(Math.max(room, 1));
      if (room <= 0) this.#overflow += events.length;
      else for (const e of events) this.#pending.push(e);
    } catch (e) {
      this.#pollError = e as Error;
    }
  }

  #detach(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tracer?.close();
    this.#tracer = undefined;
    this.#postmasterPid = undefined;
    this.#pollError = undefined;
    this.#pending = [];
  }

  /** Database and role of the events' backends, and which of them are the collector's own sessions. */
  async #backends(
    sql: Session,
    events: readonly OsDelayEvent[],
  ): Promise<{ names: Map<number, BackendNames>; own: Set<number> }> {
    const names = new Map<number, BackendNames>();
    const own = new Set<number>();
    const pids = [...new Set(events.map((e) => e.pid))];
    if (pids.length === 0) return { names, own };
    const rows = await sql.unsafe(
      `${MARKER} SELECT pid, datname, usename, application_name = $2 AS own FROM pg_stat_activity
         WHERE pid = ANY($1::text[]::int[])`,
      [arrayLiteral(pids.map(String)), this.#config.session.applicationName],
    );
    for (const r of rows) {
      const pid = Number(r.pid);
      if (r.own === true) own.add(pid);
      const n: BackendNames = {};
      if (r.datname !== null) n.databaseName = String(r.datname);
      if (r.usename !== null) n.userName = String(r.usename);
      names.set(pid, n);
    }
    return { names, own };
  }
}
