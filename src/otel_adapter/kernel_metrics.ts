/**
 * OS metrics as OTLP metrics on the instance resource: per server process, and host pressure.
 *
 * | Metric | Kind | Unit | Attributes |
 * | --- | --- | --- | --- |
 * | `pgquerylens.backend.cpu.time` | monotonic sum, double | `s` | process, `cpu.mode` (`user`, `system`) |
 * | `pgquerylens.backend.on_cpu.time` | monotonic sum, double | `s` | process |
 * | `pgquerylens.backend.run_queue.time` | monotonic sum, double | `s` | process |
 * | `pgquerylens.backend.off_cpu.time` | monotonic sum, double | `s` | process |
 * | `pgquerylens.backend.blkio.delay` | monotonic sum, double | `s` | process (with delay accounting only) |
 * | `pgquerylens.backend.io` | monotonic sum, int | `By` | process, `disk.io.direction` (`read`, `write`) (when readable) |
 * | `pgquerylens.backend.context_switches` | monotonic sum, int | `{context_switch}` | process, `process.context_switch.type` (`voluntary`, `involuntary`) |
 * | `system.pressure.stall.time` | monotonic sum, double | `s` | `system.pressure.resource` (`cpu`, `io`, `memory`), `system.pressure.level` (`some`, `full`) |
 * | `system.pressure.stall.ratio` | gauge, double | `1` | resource, level, `system.pressure.window` (`10s`, `60s`, `300s`) |
 *
 * "process" is `process.pid`, `db.namespace` and `postgresql.queryid` (each left out when the
 * process has none). The attribute names follow the OpenTelemetry semantic conventions of process
 * metrics (`process.cpu.time` with `cpu.mode`, `process.disk.io` with `disk.io.direction`,
 * `process.context_switches` with `process.context_switch.type`); the metric names are the
 * project's own, since a server process's use is reported per query it ran, not per process alone.
 * Pressure stall information has no semantic convention yet; its names follow the `system.*` style.
 * Sum by `postgresql.queryid` for the per-query view.
 *
 * Each snapshot holds one interval's use. Where intervals join (daemon mode after its first cycle,
 * `continuous`), the sums are accumulated across snapshots in the exporter's series state: a series
 * starts at the beginning of the first interval it counted (a process that used nothing in an
 * interval is not reported, and nothing is what it adds); with delta temporality each point is the
 * interval's use since the previous point. Where they do not (a one-shot run measures a short
 * sample, and a daemon's first cycle follows nothing), a point covers its interval alone: it starts
 * at the interval's beginning, in either temporality, so a rate over a point is the rate over its
 * interval and no sample stands for the time between samples. A series the state forgot starts
 * over.
 *
 * @module
 */

import type { KernelBackendRow, KernelMetrics, PressureStall, UnifiedMetrics } from "../core/model.ts";
import { accumulatedPoint, type FamilyPoint, msToNs, type SeriesPointOptions } from "./series_points.ts";
import type { OtelFamily } from "./metric_catalog.ts";
import type { Attributes } from "./resource.ts";

function family(
  name: string,
  kind: "sum" | "gauge",
  unit: string,
  valueType: "int" | "double",
  description: string,
): OtelFamily {
  return { name, unit, kind, valueType, description, contrib: false };
}

/** Every OS OTLP metric, declared once. */
export const KERNEL_FAMILIES = {
  cpuTime: family(
    "pgquerylens.backend.cpu.time",
    "sum",
    "s",
    "double",
    "CPU time of a server process by mode, from /proc/<pid>/stat (10 ms resolution).",
  ),
  onCpuTime: family(
    "pgquerylens.backend.on_cpu.time",
    "sum",
    "s",
    "double",
    "Time a server process ran on a CPU (scheduler accounting).",
  ),
  runQueueTime: family(
    "pgquerylens.backend.run_queue.time",
    "sum",
    "s",
    "double",
    "Time a server process was runnable but waited for a CPU.",
  ),
  offCpuTime: family(
    "pgquerylens.backend.off_cpu.time",
    "sum",
    "s",
    "double",
    "Time a server process was neither on a CPU nor waiting for one (I/O, locks, latches, the client).",
  ),
  blkioDelay: family(
    "pgquerylens.backend.blkio.delay",
    "sum",
    "s",
    "double",
    "Time a server process was blocked on block I/O (with kernel.task_delayacct = 1 only).",
  ),
  io: family(
    "pgquerylens.backend.io",
    "sum",
    "By",
    "int",
    "Bytes a server process caused to be read from or written to storage.",
  ),
  contextSwitches: family(
    "pgquerylens.backend.context_switches",
    "sum",
    "{context_switch}",
    "int",
    "Context switches of a server process, voluntary (it blocked) or involuntary (preempted).",
  ),
  stallTime: family(
    "system.pressure.stall.time",
    "sum",
    "s",
    "double",
    "Time tasks of the host stalled on a resource (pressure stall information).",
  ),
  stallRatio: family(
    "system.pressure.stall.ratio",
    "gauge",
    "1",
    "double",
    "Share of recent time tasks of the host stalled on a resource, averaged over a window.",
  ),
} as const satisfies Readonly<Record<string, OtelFamily>>;

/** One data point of an OS metric. */
export type KernelPoint = FamilyPoint;

/** How {@link kernelPoints} keeps and times its series. */
export type KernelPointOptions = SeriesPointOptions;

/** The attributes of a server process's points. */
export function processAttributes(r: KernelBackendRow): Attributes {
  const attrs: Attributes = { "process.pid": BigInt(r.pid) };
  if (r.databaseName !== undefined) attrs["db.namespace"] = r.databaseName;
  if (r.queryId !== undefined) attrs["postgresql.queryid"] = r.queryId;
  return attrs;
}

function backendPoints(r: KernelBackendRow, k: KernelMetrics, o: KernelPointOptions): KernelPoint[] {
  const F = KERNEL_FAMILIES;
  const attrs = processAttributes(r);
  const start = msToNs(k.intervalEndUnixMs - r.intervalMs);
  const sum = (f: OtelFamily, extra: Attributes, v: number) =>
    accumulatedPoint("kernel", f, { ...attrs, ...extra }, v, start, o, k.continuous);
  const out = [
    sum(F.cpuTime, { "cpu.mode": "user" }, r.cpuUserMs / 1000),
    sum(F.cpuTime, { "cpu.mode": "system" }, r.cpuSysMs / 1000),
    sum(F.onCpuTime, {}, r.onCpuMs / 1000),
    sum(F.runQueueTime, {}, r.runQueueMs / 1000),
    sum(F.offCpuTime, {}, r.offCpuMs / 1000),
  ];
  if (r.blkioDelayMs !== undefined) out.push(sum(F.blkioDelay, {}, r.blkioDelayMs / 1000));
  if (r.readBytes !== undefined) out.push(sum(F.io, { "disk.io.direction": "read" }, r.readBytes));
  if (r.writeBytes !== undefined) out.push(sum(F.io, { "disk.io.direction": "write" }, r.writeBytes));
  out.push(
    sum(F.contextSwitches, { "process.context_switch.type": "voluntary" }, r.voluntaryCtxSwitches),
    sum(F.contextSwitches, { "process.context_switch.type": "involuntary" }, r.involuntaryCtxSwitches),
  );
  return out;
}

const WINDOWS: readonly [keyof PressureStall, string][] = [
  ["avg10Pct", "10s"],
  ["avg60Pct", "60s"],
  ["avg300Pct", "300s"],
];

function pressurePoints(k: KernelMetrics, o: KernelPointOptions): KernelPoint[] {
  const out: KernelPoint[] = [];
  const start = msToNs(k.intervalStartUnixMs);
  for (const resource of ["cpu", "io", "memory"] as const) {
    const r = k.pressure?.[resource];
    if (r === undefined) continue;
    for (const level of ["some", "full"] as const) {
      const line = r[level];
      if (line === undefined) continue;
      const attrs: Attributes = { "system.pressure.resource": resource, "system.pressure.level": level };
      out.push(
        accumulatedPoint(
          "kernel",
          KERNEL_FAMILIES.stallTime,
          attrs,
          line.stallMs / 1000,
          start,
          o,
          k.continuous,
        ),
      );
      for (const [key, window] of WINDOWS) {
        out.push({
          family: KERNEL_FAMILIES.stallRatio,
          point: {
            attributes: { ...attrs, "system.pressure.window": window },
            timeUnixNano: o.nowNs,
            value: line[key] / 100,
          },
        });
      }
    }
  }
  return out;
}

/**
 * The OS metric points of `snapshot` (per process, then host pressure), updating `o.state`. Empty
 * when the snapshot holds no OS metrics.
 */
export function kernelPoints(
  snapshot: Pick<UnifiedMetrics, "kernelMetrics">,
  o: KernelPointOptions,
): KernelPoint[] {
  const k = snapshot.kernelMetrics;
  if (k === undefined) return [];
  return [
    ...k.perBackend.flatMap((r) => backendPoints(r, k, o)),
    ...pressurePoints(k, o),
  ];
}
