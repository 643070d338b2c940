/**
 * The catalog of OS metrics: the event type `PostgresKernelMetrics`, whose metric sets come in three
 * scopes told apart by the `scope` attribute:
 *
 * - `host`: one per cycle, the host's pressure stall information and what the tier could measure
 *   (`delay_accounting`, `io_readable`);
 * - `query`: one per database and query id, the sums over the processes that ran it;
 * - `backend`: one per server process that used a resource or ran a statement in the interval.
 *
 * One event type keeps the data in one place for queries (`FROM PostgresKernelMetrics WHERE scope =
 * 'query' FACET query_id`); the scope says which keys a set has. Fields are declared the way
 * `catalog.ts` declares the QPM types (NRI name and source type, unit, meaning), each with the
 * function that reads it from its row, since the host scope reads nested pressure values.
 *
 * The type is data nri-postgresql does not have: it is published as its own event type, after the
 * other extended types, whatever the compatibility mode.
 *
 * @module
 */

import type { FieldSpec } from "./catalog.ts";
import type { KernelBackendRow, KernelMetrics, KernelQueryRow, PressureStall } from "./model.ts";

/** The event type. */
export const KERNEL_METRICS_EVENT_TYPE = "PostgresKernelMetrics";

/** The scopes of `PostgresKernelMetrics`, in publish order. */
export type KernelScope = "host" | "query" | "backend";

/** One field of a scope: a catalog field read through `value`. */
export interface KernelFieldSpec<Row> extends Omit<FieldSpec<Row>, "field"> {
  /** Reads the field from a row; undefined leaves the key out. */
  value(row: Row): string | number | undefined;
}

/** The fields of one scope. */
export interface KernelScopeSpec<Row> {
  /** The `scope` attribute's value. */
  scope: KernelScope;
  /** Fields in declaration order (the `scope` attribute first). */
  fields: KernelFieldSpec<Row>[];
}

function scopeField<Row>(scope: KernelScope): KernelFieldSpec<Row> {
  return {
    nri: "scope",
    type: "attribute",
    required: true,
    description: "host, query or backend: which keys the set has",
    value: () => scope,
  };
}

function attr<Row>(
  field: keyof Row & string,
  nri: string,
  required: boolean,
  description: string,
): KernelFieldSpec<Row> {
  return { nri, type: "attribute", required, description, value: (r) => r[field] as string | undefined };
}

function gauge<Row>(
  field: keyof Row & string,
  nri: string,
  unit: string,
  integer: boolean,
  required: boolean,
  description: string,
): KernelFieldSpec<Row> {
  return {
    nri,
    type: "gauge",
    ...(integer ? { integer } : {}),
    required,
    unit,
    description,
    value: (r) => r[field] as number | undefined,
  };
}

type Counters = KernelBackendRow | KernelQueryRow;

/** The interval and use fields a backend and a query set share. */
function useFields<Row extends Counters>(): KernelFieldSpec<Row>[] {
  return [
    gauge<Row>("intervalMs", "interval_ms", "ms", false, true, "length of the interval"),
    gauge<Row>("cpuUserMs", "cpu_user_ms", "ms", false, true, "user-mode CPU time (10 ms resolution)"),
    gauge<Row>("cpuSysMs", "cpu_sys_ms", "ms", false, true, "kernel-mode CPU time (10 ms resolution)"),
    gauge<Row>("onCpuMs", "on_cpu_ms", "ms", false, true, "time on a CPU"),
    gauge<Row>("runQueueMs", "run_queue_ms", "ms", false, true, "time runnable, waiting for a CPU"),
    gauge<Row>(
      "offCpuMs",
      "off_cpu_ms",
      "ms",
      false,
      true,
      "interval less on-CPU and run-queue time: blocked on I/O, a lock, a latch or the client",
    ),
    gauge<Row>(
      "blkioDelayMs",
      "blkio_delay_ms",
      "ms",
      false,
      false,
      "time blocked on block I/O; absent when delay accounting is off",
    ),
    gauge<Row>(
      "readBytes",
      "read_bytes",
      "By",
      true,
      false,
      "bytes fetched from storage; absent when /proc/<pid>/io is not readable",
    ),
    gauge<Row>(
      "writeBytes",
      "write_bytes",
      "By",
      true,
      false,
      "bytes sent to storage; absent when /proc/<pid>/io is not readable",
    ),
    gauge<Row>(
      "voluntaryCtxSwitches",
      "voluntary_ctx_switches",
      "{context_switch}",
      true,
      true,
      "context switches the process asked for (it blocked or slept)",
    ),
    gauge<Row>(
      "involuntaryCtxSwitches",
      "involuntary_ctx_switches",
      "{context_switch}",
      true,
      true,
      "context switches forced on the process (preempted)",
    ),
    attr<Row>("tier", "tier", true, "where the values come from: procfs"),
  ];
}

/** The `backend` scope: one server process. */
export const KERNEL_BACKEND_SCOPE: KernelScopeSpec<KernelBackendRow> = {
  scope: "backend",
  fields: [
    scopeField("backend"),
    gauge("pid", "pid", "{process}", true, true, "process id"),
    gauge(
      "leaderPid",
      "leader_pid",
      "{process}",
      true,
      false,
      "parallel group leader, for a parallel worker",
    ),
    attr("backendType", "backend_type", true, "pg_stat_activity backend_type"),
    attr("databaseName", "database_name", false, "database; absent for background processes"),
    attr("userName", "user_name", false, "role"),
    attr("state", "state", false, "pg_stat_activity state"),
    attr("waitEventType", "wait_event_type", false, "wait event type; absent when not waiting"),
    attr("waitEvent", "wait_event", false, "wait event; absent when not waiting"),
    attr("queryId", "query_id", false, "query id (decimal) of the current or most recent statement"),
    ...useFields<KernelBackendRow>(),
    gauge("timeslices", "timeslices", "{timeslice}", true, true, "timeslices run on a CPU"),
    gauge("readChars", "read_chars", "By", true, false, "bytes read by system calls (page cache included)"),
    gauge("writeChars", "write_chars", "By", true, false, "bytes written by system calls"),
    gauge(
      "queryElapsedMs",
      "query_elapsed_ms",
      "ms",
      false,
      false,
      "active statement: time since query_start",
    ),
    gauge(
      "queryObservedMs",
      "query_observed_ms",
      "ms",
      false,
      false,
      "active statement: the part of its elapsed time the query_* totals cover",
    ),
    gauge("queryOnCpuMs", "query_on_cpu_ms", "ms", false, false, "active statement: time on a CPU"),
    gauge(
      "queryRunQueueMs",
      "query_run_queue_ms",
      "ms",
      false,
      false,
      "active statement: time waiting for a CPU",
    ),
    gauge("queryOffCpuMs", "query_off_cpu_ms", "ms", false, false, "active statement: time off CPU"),
    gauge(
      "queryBlkioDelayMs",
      "query_blkio_delay_ms",
      "ms",
      false,
      false,
      "active statement: block-I/O delay; absent without delay accounting",
    ),
  ],
};

/** The `query` scope: sums over the processes of one database and query id. */
export const KERNEL_QUERY_SCOPE: KernelScopeSpec<KernelQueryRow> = {
  scope: "query",
  fields: [
    scopeField("query"),
    attr("databaseName", "database_name", true, "database"),
    attr("queryId", "query_id", true, "query id (decimal)"),
    gauge(
      "backends",
      "backends",
      "{process}",
      true,
      true,
      "processes summed (backends and parallel workers)",
    ),
    gauge("parallelWorkers", "parallel_workers", "{process}", true, true, "parallel workers among them"),
    ...useFields<KernelQueryRow>(),
  ],
};

/** The PSI resources and lines of the host scope, in key order. */
const PSI: readonly ["cpu" | "io" | "memory", "some" | "full"][] = [
  ["cpu", "some"],
  ["cpu", "full"],
  ["io", "some"],
  ["io", "full"],
  ["memory", "some"],
  ["memory", "full"],
];

const PSI_VALUES: readonly [keyof PressureStall, string, string, string][] = [
  ["avg10Pct", "avg10", "%", "share of the last 10 s"],
  ["avg60Pct", "avg60", "%", "share of the last 60 s"],
  ["avg300Pct", "avg300", "%", "share of the last 300 s"],
  ["stallMs", "stall_ms", "ms", "stall time within the interval"],
];

function psiFields(): KernelFieldSpec<KernelMetrics>[] {
  return PSI.flatMap(([resource, line]) =>
    PSI_VALUES.map(([key, suffix, unit, meaning]) => ({
      nri: `${resource}_${line}_${suffix}`,
      type: "gauge" as const,
      required: false,
      unit,
      description: `${resource} pressure, ${
        line === "some" ? "some tasks" : "all tasks"
      } stalled: ${meaning}`,
      value: (m: KernelMetrics) => m.pressure?.[resource]?.[line]?.[key],
    }))
  );
}

/** The `host` scope: the host's pressure and what the tier could measure. */
export const KERNEL_HOST_SCOPE: KernelScopeSpec<KernelMetrics> = {
  scope: "host",
  fields: [
    scopeField("host"),
    {
      nri: "interval_ms",
      type: "gauge",
      required: true,
      unit: "ms",
      description: "length of the interval",
      value: (m) => m.intervalEndUnixMs - m.intervalStartUnixMs,
    },
    {
      nri: "delay_accounting",
      type: "gauge",
      integer: true,
      required: true,
      description: "1 when block-I/O delay was measured (kernel.task_delayacct = 1), else 0",
      value: (m) => (m.delayAccounting ? 1 : 0),
    },
    {
      nri: "io_readable",
      type: "gauge",
      integer: true,
      required: true,
      description: "1 when /proc/<pid>/io was readable (I/O bytes are present), else 0",
      value: (m) => (m.ioReadable ? 1 : 0),
    },
    ...psiFields(),
    { nri: "tier", type: "attribute", required: true, description: "procfs", value: (m) => m.tier },
  ],
};
