/**
 * OS metrics of the server's processes in the collection cycle (the procfs tier).
 *
 * `os_metrics = auto` (the default) and `on` measure when the server runs on this host and a
 * database is monitored (as query monitoring, nothing is published when COLLECTION_LIST names none);
 * `off` never. The first cycle finds out once whether it can:
 *
 * 1. the configured host must be this host (`localhost`, a loopback address or a socket
 *    directory); otherwise the tier stays off, said at debug level under `auto` (expected for a
 *    remote server) and as a warning under `on`;
 * 2. this process must be able to read `/proc` (see `proc_reader.ts`);
 * 3. the collector's own backend must be, in this host's `/proc`, a child of the server's
 *    postmaster (`src/collectors/ash/locality.ts`): a server in another PID namespace (a
 *    container), or a `/proc` mounted with `hidepid`, fails here.
 *
 * When a step fails, one warning (component `os.procfs`) names the reason and what to do, and the
 * rest of the collection goes on unchanged. A probe whose statement fails is tried again next cycle,
 * and so is the whole search when a reading finds none of its processes to be children of the
 * postmaster found (the server restarted).
 *
 * Readings (`sampler.ts`) run concurrently with the rest of the cycle, on the cycle's main session
 * (their statements queue behind the cycle's own, so the tier costs no connection):
 * - **One-shot runs** take two readings `os_oneshot_interval_ms` (200 ms by default) apart, so the
 *   deltas cover that short interval while the other collectors run.
 * - **Daemon mode** takes one reading per cycle and keeps it, so each cycle's deltas cover the time
 *   since the previous cycle's reading (the first cycle takes two readings, as a one-shot run does).
 *
 * A process whose `/proc/<pid>/io` is refused (another OS user's process, without CAP_SYS_PTRACE)
 * has no I/O bytes; that is said once, as a warning, and the host set carries `io_readable = 0`.
 * Block-I/O delay is absent while `kernel.task_delayacct` is 0 (the default since Linux 5.14): the
 * usual state of a host, so it is not an issue; the host set carries `delay_accounting = 0`.
 * Measuring adds no issue to a cycle: a tier that works is silent.
 *
 * @module
 */

import type { Config } from "../../config/types.ts";
import type { CollectionIssue, KernelBackendRow, UnifiedMetrics } from "../../core/model.ts";
import type { Capabilities } from "../../query_engine/capabilities.ts";
import type { Session } from "../../query_engine/connection.ts";
import { isLocalHost } from "../querylens/collect.ts";
import { type LocalServer, probeLocality } from "../ash/locality.ts";
import { hostPressure, perQueryRows } from "./aggregate.ts";
import { backendRow, isReported, measureProcesses } from "./deltas.ts";
import { openProcReader, type ProcFileReader, type ProcReaderChoice } from "./proc_reader.ts";
import { createQueryTotals, type QueryTotalsTracker } from "./query_totals.ts";
import { type OsReading, type ReadingContext, takeReading } from "./sampler.ts";

/** Whether some process of `r` is the server's, or none was listed (a reading of a restarted server has neither). */
function verifiable(r: OsReading): boolean {
  return r.processes.size > 0 || r.unverified === 0;
}

/** Component of the tier's issues. */
export const OS_COMPONENT = "os.procfs";

/** What one cycle gives the collector. */
export interface OsCycleInput {
  /** Capabilities of the monitored server. */
  caps: Capabilities;
  /** Names of the monitored databases. */
  databases: readonly string[];
  /** Issue sink. */
  report(issue: CollectionIssue): void;
}

/** Where the readings' session comes from (a ConnectionManager is one). */
export interface OsSessions {
  /** The main session for `database`. */
  sql(database: string): Session;
}

/** Options of {@link OsCollector}. */
export interface OsCollectorOptions {
  /** Finds how to read `/proc` ({@link openProcReader} by default). */
  openReader?: () => ProcReaderChoice;
}

type Probe =
  | { state: "unprobed" }
  | { state: "off" }
  | { state: "on"; read: ProcFileReader; close(): void; server: LocalServer };

/** The procfs tier for the collector: one per monitored instance, kept across cycles. */
export class OsCollector {
  readonly #config: Config;
  readonly #sessions: OsSessions;
  readonly #daemon: boolean;
  readonly #openReader: () => ProcReaderChoice;
  readonly #totals: QueryTotalsTracker = createQueryTotals();
  #probe: Probe = { state: "unprobed" };
  #previous: OsReading | undefined;
  #ioDeniedSaid = false;

  /**
   * @param config validated configuration
   * @param sessions where the readings' session comes from
   * @param daemon whether cycles repeat (each cycle then reads once, against the previous reading)
   * @param options how `/proc` is read
   */
  constructor(config: Config, sessions: OsSessions, daemon: boolean, options: OsCollectorOptions = {}) {
    this.#config = config;
    this.#sessions = sessions;
    this.#daemon = daemon;
    this.#openReader = options.openReader ?? (() => openProcReader());
  }

  /** Whether OS metrics may be read with this configuration. */
  enabled(): boolean {
    const mode = this.#config.os.mode;
    return mode === "on" || (mode === "auto" && this.#config.enableQueryMonitoring);
  }

  /** Whether the tier found that it can measure the server (after its first cycle). */
  measuring(): boolean {
    return this.#probe.state === "on";
  }

  /**
   * Runs the OS part of a cycle and fills `snap.kernelMetrics`. Failures are reported, never
   * thrown.
   */
  async collect(input: OsCycleInput, snap: UnifiedMetrics): Promise<void> {
    if (!this.enabled() || input.databases.length === 0) return;
    const cfg = this.#config;
    try {
      const sql = this.#sessions.sql(cfg.database);
      if (this.#probe.state === "unprobed") this.#probe = await this.#find(sql, input.report);
      const probe = this.#probe;
      if (probe.state !== "on") return;
      const ctx: ReadingContext = {
        sql,
        read: probe.read,
        server: probe.server,
        scope: {
          databases: [...input.databases],
          applicationName: cfg.session.applicationName,
          hasQueryId: input.caps.activityHasQueryId,
        },
      };
      let before = this.#daemon ? this.#previous : undefined;
      const continuous = before !== undefined;
      if (before === undefined) {
        before = await takeReading(ctx);
        await new Promise((resolve) => setTimeout(resolve, cfg.os.oneshotIntervalMs));
      }
      const after = await takeReading(ctx);
      if (!verifiable(before) || !verifiable(after)) {
        // None of the listed processes is a child of the postmaster found: the server restarted.
        this.#forget();
        return;
      }
      this.#previous = after;
      snap.kernelMetrics = this.#metrics(before, after, continuous, probe.server, input.report);
    } catch (e) {
      this.#previous = undefined;
      const message = (e as Error).message;
      input.report({
        component: OS_COMPONENT,
        cause: `error:${message}`,
        severity: "warning",
        message: `OS metrics of the server's processes were not read this cycle: ${message}`,
      });
    }
  }

  /** Unloads what the `/proc` reader loaded. */
  close(): void {
    if (this.#probe.state === "on") this.#probe.close();
  }

  /** Forgets the server found and its last reading, so the next cycle finds it again. */
  #forget(): void {
    this.close();
    this.#probe = { state: "unprobed" };
    this.#previous = undefined;
  }

  async #find(sql: Session, report: (issue: CollectionIssue) => void): Promise<Probe> {
    const cfg = this.#config;
    const off = (cause: string, reason: string, severity: "warning" | "debug" = "warning"): Probe => {
      report({
        component: OS_COMPONENT,
        cause,
        severity,
        message: `OS metrics are not collected: ${reason}`,
      });
      return { state: "off" };
    };
    if (!isLocalHost(cfg.hostname)) {
      return off(
        "not_local",
        `the server ${cfg.hostname} is not known to be this host (only localhost, a loopback address or ` +
          `a socket directory is); run the collector on the database host and point it at localhost, or ` +
          `set os_metrics=off`,
        cfg.os.mode === "auto" ? "debug" : "warning",
      );
    }
    const reader = this.#openReader();
    if (!reader.ok) return off("not_permitted", reader.reason);
    let locality;
    try {
      locality = await probeLocality(sql, cfg.hostname, (path) => {
        const r = reader.read(path);
        return r.ok ? r.text : undefined;
      });
    } catch (e) {
      reader.close();
      throw e;
    }
    if (!locality.local) {
      reader.close();
      return off(
        "not_visible",
        `${locality.reason}; run the collector in the server's PID namespace (a container needs the ` +
          `host's PID namespace) with /proc mounted without hidepid, or set os_metrics=off`,
      );
    }
    return { state: "on", read: reader.read, close: reader.close, server: locality.server };
  }

  #metrics(
    before: OsReading,
    after: OsReading,
    continuous: boolean,
    server: LocalServer,
    report: (issue: CollectionIssue) => void,
  ): NonNullable<UnifiedMetrics["kernelMetrics"]> {
    const perBackend: KernelBackendRow[] = [];
    for (const m of measureProcesses(before, after, server.bootMs)) {
      if (!isReported(m, after)) continue;
      const row = backendRow(m, after);
      const p = after.processes.get(m.pid)!.process;
      if (p.state === "active" && p.queryStartMs !== undefined) {
        Object.assign(row, this.#totals.add(m.pid, p.queryStartMs, m.delta, after.atMs));
      }
      perBackend.push(row);
    }
    this.#totals.endReading();
    const samples = [...after.processes.values()].map((p) => p.sample);
    const ioReadable = samples.every((s) => typeof s.io === "object");
    const delayAccounting = before.delayAccounting === true && after.delayAccounting === true;
    this.#sayOnce(samples.some((s) => s.io === "denied"), report);
    const metrics: NonNullable<UnifiedMetrics["kernelMetrics"]> = {
      tier: "procfs",
      intervalStartUnixMs: before.atMs,
      intervalEndUnixMs: after.atMs,
      continuous,
      perBackend,
      perQuery: perQueryRows(perBackend),
      delayAccounting,
      ioReadable,
    };
    const pressure = hostPressure(before.pressure, after.pressure);
    if (pressure !== undefined) metrics.pressure = pressure;
    return metrics;
  }

  #sayOnce(ioDenied: boolean, report: (issue: CollectionIssue) => void): void {
    if (!ioDenied || this.#ioDeniedSaid) return;
    this.#ioDeniedSaid = true;
    report({
      component: OS_COMPONENT,
      cause: "io_unreadable",
      severity: "warning",
      message: "I/O bytes of the server's processes are left out: /proc/<pid>/io is readable only by " +
        "the server's OS user, root or a process with CAP_SYS_PTRACE; run the collector as the server's " +
        "OS user or grant it CAP_SYS_PTRACE",
    });
  }
}
