import assert from "node:assert/strict";
import {
  emptySnapshot,
  type KernelBackendRow,
  type KernelMetrics,
  type UnifiedMetrics,
} from "../core/model.ts";
import { KERNEL_FAMILIES, kernelPoints, processAttributes } from "./kernel_metrics.ts";
import {
  createSeriesState,
  dateToNs,
  type SeriesState,
  snapshotMetrics,
  type Temporality,
} from "./metrics.ts";

const INSTANCE = {
  host: "db1",
  port: "5432",
  serverVersionNum: 170002,
  majorVersion: 17,
  serverVersion: "17.2",
};
const T0 = new Date("2026-03-01T10:00:00Z");
const T1 = new Date("2026-03-01T10:00:15Z");

function backend(over: Partial<KernelBackendRow> = {}): KernelBackendRow {
  return {
    pid: 4242,
    backendType: "client backend",
    databaseName: "shop",
    state: "active",
    queryId: "-42",
    intervalMs: 1000,
    cpuUserMs: 600,
    cpuSysMs: 100,
    onCpuMs: 705.5,
    runQueueMs: 94.5,
    offCpuMs: 200,
    timeslices: 30,
    blkioDelayMs: 150,
    readBytes: 8192,
    writeBytes: 4096,
    voluntaryCtxSwitches: 20,
    involuntaryCtxSwitches: 7,
    tier: "procfs",
    ...over,
  };
}

function kernel(at: Date, rows: KernelBackendRow[], over: Partial<KernelMetrics> = {}): KernelMetrics {
  return {
    tier: "procfs",
    intervalStartUnixMs: at.getTime() - 1000,
    intervalEndUnixMs: at.getTime(),
    continuous: false,
    perBackend: rows,
    perQuery: [],
    delayAccounting: true,
    ioReadable: true,
    ...over,
  };
}

const snap = (at: Date, k?: KernelMetrics): UnifiedMetrics => ({
  ...emptySnapshot(INSTANCE, at),
  ...(k ? { kernelMetrics: k } : {}),
});

const points = (s: UnifiedMetrics, state: SeriesState, temporality: Temporality = "cumulative") =>
  kernelPoints(s, { state, temporality, nowNs: dateToNs(s.collectedAt) });

const PROCESS = { "process.pid": 4242n, "db.namespace": "shop", "postgresql.queryid": "-42" };

Deno.test("kernel OTLP: a process's points carry its pid, database and query id", () => {
  assert.deepEqual(processAttributes(backend()), PROCESS);
  assert.deepEqual(
    processAttributes(backend({ pid: 70, databaseName: undefined, queryId: undefined })),
    { "process.pid": 70n },
  );
});

Deno.test("kernel OTLP: one interval's use per process, in seconds and bytes, by mode, direction and type", () => {
  const got = points(snap(T0, kernel(T0, [backend()])), createSeriesState());
  const start = dateToNs(T0) - 1_000_000_000n;
  const rows = got.map((p) => {
    const { "process.pid": _p, "db.namespace": _d, "postgresql.queryid": _q, ...extra } = p.point.attributes;
    assert.equal(p.point.startTimeUnixNano, start);
    return [p.family.name, extra, p.point.value];
  });
  assert.deepEqual(rows, [
    ["pgquerylens.backend.cpu.time", { "cpu.mode": "user" }, 0.6],
    ["pgquerylens.backend.cpu.time", { "cpu.mode": "system" }, 0.1],
    ["pgquerylens.backend.on_cpu.time", {}, 0.7055],
    ["pgquerylens.backend.run_queue.time", {}, 0.0945],
    ["pgquerylens.backend.off_cpu.time", {}, 0.2],
    ["pgquerylens.backend.blkio.delay", {}, 0.15],
    ["pgquerylens.backend.io", { "disk.io.direction": "read" }, 8192n],
    ["pgquerylens.backend.io", { "disk.io.direction": "write" }, 4096n],
    ["pgquerylens.backend.context_switches", { "process.context_switch.type": "voluntary" }, 20n],
    ["pgquerylens.backend.context_switches", { "process.context_switch.type": "involuntary" }, 7n],
  ]);
  const partial = points(
    snap(T0, kernel(T0, [backend({ blkioDelayMs: undefined, readBytes: undefined, writeBytes: undefined })])),
    createSeriesState(),
  );
  const names = partial.map((p) => p.family.name);
  assert.ok(!names.includes("pgquerylens.backend.blkio.delay"), "no delay without delay accounting");
  assert.ok(!names.includes("pgquerylens.backend.io"), "no bytes when io was not readable");
});

Deno.test("kernel OTLP: joined intervals accumulate; with delta temporality each point is its interval", () => {
  const later = (rows: KernelBackendRow[]) => kernel(T1, rows, { continuous: true });
  const cumulative = createSeriesState();
  points(snap(T0, kernel(T0, [backend()])), cumulative);
  const second = points(snap(T1, later([backend({ cpuUserMs: 300 })])), cumulative);
  const user = second.find((p) => p.point.attributes["cpu.mode"] === "user")!;
  assert.ok(Math.abs(Number(user.point.value) - 0.9) < 1e-12, String(user.point.value));
  assert.equal(user.point.startTimeUnixNano, dateToNs(T0) - 1_000_000_000n);

  const delta = createSeriesState();
  points(snap(T0, kernel(T0, [backend()])), delta, "delta");
  const d = points(snap(T1, later([backend({ cpuUserMs: 300 })])), delta, "delta");
  const dUser = d.find((p) => p.point.attributes["cpu.mode"] === "user")!;
  assert.equal(dUser.point.value, 0.3);
  assert.equal(dUser.point.startTimeUnixNano, dateToNs(T0));
  const io = d.find((p) => p.family === KERNEL_FAMILIES.io)!;
  assert.equal(io.point.value, 8192n);
});

Deno.test("kernel OTLP: a sampled interval (one-shot runs) is a point of its own interval, never a running total", () => {
  for (const temporality of ["cumulative", "delta"] as const) {
    const state = createSeriesState();
    points(snap(T0, kernel(T0, [backend()])), state, temporality);
    const next = points(snap(T1, kernel(T1, [backend({ cpuUserMs: 300 })])), state, temporality);
    const user = next.find((p) => p.point.attributes["cpu.mode"] === "user")!;
    assert.equal(user.point.value, 0.3, temporality);
    assert.equal(user.point.startTimeUnixNano, dateToNs(T1) - 1_000_000_000n, temporality);
  }
});

Deno.test("kernel OTLP: a process missing from a joined interval used nothing; its total carries on", () => {
  const state = createSeriesState();
  points(snap(T0, kernel(T0, [backend()])), state);
  points(snap(T1, kernel(T1, [], { continuous: true })), state);
  const T2 = new Date(T1.getTime() + 15_000);
  const third = points(snap(T2, kernel(T2, [backend({ cpuUserMs: 100 })], { continuous: true })), state);
  const user = third.find((p) => p.point.attributes["cpu.mode"] === "user")!;
  assert.ok(Math.abs(Number(user.point.value) - 0.7) < 1e-12, String(user.point.value));
  assert.equal(user.point.startTimeUnixNano, dateToNs(T0) - 1_000_000_000n);
});

Deno.test("kernel OTLP: a new query id of the same process is a new series", () => {
  const state = createSeriesState();
  points(snap(T0, kernel(T0, [backend()])), state);
  const next = points(
    snap(T1, kernel(T1, [backend({ queryId: "99", cpuUserMs: 10 })], { continuous: true })),
    state,
  );
  const user = next.find((p) => p.point.attributes["cpu.mode"] === "user")!;
  assert.equal(user.point.attributes["postgresql.queryid"], "99");
  assert.equal(user.point.value, 0.01);
  assert.equal(user.point.startTimeUnixNano, dateToNs(T1) - 1_000_000_000n);
});

Deno.test("kernel OTLP: host pressure as stall time and windowed ratios", () => {
  const k = kernel(T0, [], {
    pressure: {
      io: {
        some: { avg10Pct: 25, avg60Pct: 5, avg300Pct: 1, stallMs: 250, totalUs: 9_000_000 },
        full: { avg10Pct: 10, avg60Pct: 2, avg300Pct: 0.5, stallMs: 100, totalUs: 4_000_000 },
      },
    },
  });
  const got = points(snap(T0, k), createSeriesState()).map((
    p,
  ) => [p.family.name, p.point.attributes, p.point.value]);
  const level = (l: string) => ({ "system.pressure.resource": "io", "system.pressure.level": l });
  assert.deepEqual(got, [
    ["system.pressure.stall.time", level("some"), 0.25],
    ["system.pressure.stall.ratio", { ...level("some"), "system.pressure.window": "10s" }, 0.25],
    ["system.pressure.stall.ratio", { ...level("some"), "system.pressure.window": "60s" }, 0.05],
    ["system.pressure.stall.ratio", { ...level("some"), "system.pressure.window": "300s" }, 0.01],
    ["system.pressure.stall.time", level("full"), 0.1],
    ["system.pressure.stall.ratio", { ...level("full"), "system.pressure.window": "10s" }, 0.1],
    ["system.pressure.stall.ratio", { ...level("full"), "system.pressure.window": "60s" }, 0.02],
    ["system.pressure.stall.ratio", { ...level("full"), "system.pressure.window": "300s" }, 0.005],
  ]);
});

Deno.test("kernel OTLP: snapshotMetrics carries it on the instance resource; none without OS metrics", () => {
  const s = snap(T0, kernel(T0, [backend()]));
  const metrics = snapshotMetrics(s, { state: createSeriesState(), temporality: "cumulative" });
  const found = metrics.resourceMetrics.flatMap((r) =>
    r.scopeMetrics[0].metrics.map((m) => [m.name, m.type, m.unit, m.monotonic])
  );
  assert.deepEqual(found, [
    ["pgquerylens.backend.cpu.time", "sum", "s", true],
    ["pgquerylens.backend.on_cpu.time", "sum", "s", true],
    ["pgquerylens.backend.run_queue.time", "sum", "s", true],
    ["pgquerylens.backend.off_cpu.time", "sum", "s", true],
    ["pgquerylens.backend.blkio.delay", "sum", "s", true],
    ["pgquerylens.backend.io", "sum", "By", true],
    ["pgquerylens.backend.context_switches", "sum", "{context_switch}", true],
  ]);
  assert.equal(metrics.resourceMetrics[0].resource["service.name"] !== undefined, true);
  assert.deepEqual(points(snap(T0), createSeriesState()), []);
});
