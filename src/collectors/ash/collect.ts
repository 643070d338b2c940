/**
 * Active session history in the collection cycle.
 *
 * `ash = auto` (the default) samples when query monitoring is on, `on` always, `off` never. The
 * sampler has its own session (purpose `ash`), so a sample never waits for the cycle's statements.
 *
 * - **Daemon mode**: the first cycle takes a sample at once and starts a timer that samples every
 *   `ash_interval_ms` from then on, between and during cycles, whatever the exporters do. Each cycle
 *   aggregates the samples taken since the previous one.
 * - **One-shot runs**: the cycle takes `ash_oneshot_samples` samples `ash_interval_ms` apart while
 *   the rest of the cycle runs, and aggregates them.
 *
 * When the server runs on this host with its backends visible in `/proc` (see `locality.ts`), each
 * sampled backend also gets its CPU time since the previous sample. `/proc` is read the way the OS
 * tier reads it (`openProcReader`: the runtime's reads when it allows them, else libc's through the
 * collector's own library, which works under the collector's permission set). Otherwise that is said
 * once — at debug level for a server on another host, where it is expected, as a warning for a local
 * one (no way to read `/proc`, or backends it does not show) — and sampling goes on without CPU.
 *
 * @module
 */

import type { Config } from "../../config/types.ts";
import type { CollectionIssue, UnifiedMetrics } from "../../core/model.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Session } from "../../query_engine/connection.ts";
import { aggregateAsh } from "./aggregate.ts";
import { type CpuMeter, createCpuMeter } from "./cpu.ts";
import { AshHistory } from "./history.ts";
import { probeLocality, remoteReason } from "./locality.ts";
import type { ReadProcFile } from "./proc_stat.ts";
import { openProcReader, type ProcReaderChoice } from "../os/proc_reader.ts";
import { samplesForRetention } from "./ring.ts";
import { type AshSample, type AshSampleScope, takeAshSample } from "./sampler.ts";

/** Session purpose of the sampler. */
export const ASH_PURPOSE = "ash";

/** What one cycle gives the collector. */
export interface AshCycleInput {
  /** Capabilities of the monitored server. */
  caps: Capabilities;
  /** Names of the monitored databases. */
  databases: readonly string[];
  /** Issue sink. */
  report(issue: CollectionIssue): void;
}

/** Where the sampler's session comes from (a ConnectionManager is one). */
export interface AshSessions {
  /** The session for `database` and `purpose`. */
  sql(database: string, purpose: string): Session;
}

/** Options of {@link AshCollector}. */
export interface AshCollectorOptions {
  /**
   * Reads `/proc` files; by default the reader `openProcReader` finds (the runtime's, or libc's
   * through the collector's own library). Tests pass their own view of `/proc`.
   */
  readProc?: ReadProcFile;
  /** Finds how to read `/proc` when `readProc` is not given (`openProcReader` by default). */
  openReader?: () => ProcReaderChoice;
}

/** Active session history for the collector: one per monitored instance, kept across cycles. */
export class AshCollector {
  readonly #config: Config;
  readonly #sessions: AshSessions;
  readonly #daemon: boolean;
  readonly #readProc: ReadProcFile | undefined;
  readonly #openReader: () => ProcReaderChoice;
  #reader: ProcReaderChoice | undefined;
  #history: AshHistory | undefined;
  #scope: AshSampleScope | undefined;
  #meter: CpuMeter | undefined;
  #probed = false;
  #since = Date.now();
  #unreadReported = 0;

  /**
   * @param config validated configuration
   * @param sessions where the sampler's session comes from
   * @param daemon whether cycles repeat (a timer then samples between them)
   * @param options how `/proc` is read
   */
  constructor(config: Config, sessions: AshSessions, daemon: boolean, options: AshCollectorOptions = {}) {
    this.#config = config;
    this.#sessions = sessions;
    this.#daemon = daemon;
    this.#readProc = options.readProc;
    this.#openReader = options.openReader ?? (() => openProcReader());
  }

  /** Whether active sessions are sampled with this configuration. */
  enabled(): boolean {
    const mode = this.#config.ash.mode;
    return mode === "on" || (mode === "auto" && this.#config.enableQueryMonitoring);
  }

  /**
   * Runs the active-session part of a cycle and fills `snap.activeSessionHistory` and
   * `snap.ashStats`. Failures are reported, never thrown.
   */
  async collect(input: AshCycleInput, snap: UnifiedMetrics): Promise<void> {
    if (!this.enabled() || input.databases.length === 0) return;
    const cfg = this.#config;
    try {
      this.#scope = {
        databases: [...input.databases],
        applicationName: cfg.session.applicationName,
        hasQueryId: input.caps.activityHasQueryId,
      };
      const sql = this.#sessions.sql(cfg.database, ASH_PURPOSE);
      if (!this.#probed) await this.#probe(sql, input.report);
      const history = this.#history ??= this.#open(sql);
      if (!this.#daemon) await history.burst(cfg.ash.oneshotSamples);
      else if (!history.running) {
        await history.tick();
        history.start();
      }
      this.#fill(history, input.report, snap);
    } catch (e) {
      input.report({
        component: "ash",
        cause: `error:${(e as Error).message}`,
        severity: "error",
        message: `active session history: ${(e as Error).message}`,
      });
    }
  }

  /** Stops the timer, waits for a sample in flight, and lets go of the `/proc` reader. */
  async close(): Promise<void> {
    await this.#history?.close();
    if (this.#reader?.ok) this.#reader.close();
    this.#reader = undefined;
  }

  #open(sql: Session): AshHistory {
    const a = this.#config.ash;
    this.#since = Date.now();
    return new AshHistory({
      take: () => this.#sample(sql),
      intervalMs: a.intervalMs,
      ring: {
        maxSamples: samplesForRetention(a.retentionSeconds, a.intervalMs),
        maxSessionSamples: a.maxSamples,
      },
    });
  }

  async #sample(sql: Session): Promise<AshSample> {
    const scope = this.#scope;
    if (scope === undefined) throw new Error("no databases to sample yet");
    const sample = await takeAshSample(sql, scope);
    if (this.#meter !== undefined) {
      const { cpuSeconds } = this.#meter.measure(sample.sessions);
      for (const s of sample.sessions) {
        const cpu = cpuSeconds.get(s.pid);
        if (cpu !== undefined) s.cpuSeconds = cpu;
      }
    }
    return sample;
  }

  /** Finds out once whether CPU can be read; a probe that fails is tried again next cycle. */
  async #probe(sql: Session, report: (issue: CollectionIssue) => void): Promise<void> {
    const withoutCpu = (severity: "debug" | "warning", reason: string) => {
      this.#probed = true;
      report({
        component: "ash",
        cause: "cpu:off",
        severity,
        message: `active session history without per-backend CPU: ${reason}`,
      });
    };
    const remote = remoteReason(this.#config.hostname);
    if (remote !== undefined) return withoutCpu("debug", remote);
    const read = this.#readProc ?? this.#procReader();
    if (typeof read === "string") return withoutCpu("warning", read);
    let locality;
    try {
      locality = await probeLocality(sql, this.#config.hostname, read);
    } catch (e) {
      report({
        component: "ash",
        cause: `cpu_probe:${(e as Error).message}`,
        severity: "warning",
        message: `cannot tell whether the server's backends are on this host (sampling without CPU ` +
          `for now): ${(e as Error).message}`,
      });
      return;
    }
    if (!locality.local) return withoutCpu(locality.remote ? "debug" : "warning", locality.reason);
    this.#probed = true;
    this.#meter = createCpuMeter(locality.server, read);
    report({
      component: "ash",
      cause: "cpu:on",
      severity: "debug",
      message: `per-backend CPU is read from /proc (postmaster pid ${locality.server.postmasterPid})`,
    });
  }

  /** The `/proc` reader (found once), or why there is none. */
  #procReader(): ReadProcFile | string {
    const choice = this.#reader ??= this.#openReader();
    if (!choice.ok) return choice.reason;
    return (path) => {
      const r = choice.read(path);
      return r.ok ? r.text : undefined;
    };
  }

  #fill(history: AshHistory, report: (issue: CollectionIssue) => void, snap: UnifiedMetrics): void {
    const a = this.#config.ash;
    const window = history.takeWindow();
    if (window.counts.failed > 0) {
      const message = window.lastError?.message ?? "unknown error";
      report({
        component: "ash",
        cause: `sample:${message}`,
        severity: "warning",
        message: `${window.counts.failed} active session sample(s) failed this cycle: ${message}`,
      });
    }
    const agg = aggregateAsh(window.samples, a.intervalMs);
    if (agg.overflow > 0) {
      report({
        component: "ash",
        cause: "aggregate_overflow",
        severity: "warning",
        message: `active session history: ${agg.overflow} session-samples of this cycle were left out ` +
          `(more groups than the bound)`,
      });
    }
    const ring = history.ring;
    if (ring.evicted.unread > this.#unreadReported) {
      this.#unreadReported = ring.evicted.unread;
      report({
        component: "ash",
        cause: "ring_evicted_unread",
        severity: "warning",
        message: `active session history: the sample ring dropped samples before a cycle aggregated ` +
          `them (raise ash_max_samples or ash_retention_seconds)`,
      });
    }
    const total = history.total;
    snap.activeSessionHistory = agg.aggregates;
    snap.ashStats = {
      sinceUnixMs: this.#since,
      intervalMs: a.intervalMs,
      samplesTaken: total.taken,
      sampleFailures: total.failed,
      samplesSkipped: total.skipped,
      cycleSamples: window.counts.taken,
      cycleFailures: window.counts.failed,
      evictedSamples: ring.evicted.samples,
      evictedSessionSamples: ring.evicted.sessionSamples,
      unexportedSamples: ring.evicted.unread,
      ringSamples: ring.size,
      ringSessionSamples: ring.sessionSamples,
      cpuMeasured: this.#meter !== undefined,
      aggregateOverflow: agg.overflow,
    };
  }
}
