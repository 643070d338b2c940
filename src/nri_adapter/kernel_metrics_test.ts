import assert from "node:assert/strict";
import {
  assertExtendedDocumentsValid,
  assertOtherDocumentsUnchanged,
  fixtureSnapshot,
  NRI_TEST_OPTIONS,
} from "../../tests/support/extended_nri.ts";
import type { KernelBackendRow, KernelMetrics, KernelQueryRow, UnifiedMetrics } from "../core/model.ts";
import { validateDocument } from "../../tests/support/schema.ts";
import { kernelMetricSets } from "./kernel_metrics.ts";
import { encodeQpmDocuments, type NriOptions, qpmMetricSets } from "./qpm.ts";

const DEFAULTS: NriOptions = NRI_TEST_OPTIONS;

const BUSY: KernelBackendRow = {
  pid: 4242,
  backendType: "client backend",
  databaseName: "shop",
  userName: "app",
  state: "active",
  queryId: "-6482174329745523713",
  intervalMs: 200.5,
  cpuUserMs: 180,
  cpuSysMs: 10,
  onCpuMs: 190.25,
  runQueueMs: 8,
  offCpuMs: 2.25,
  timeslices: 12,
  blkioDelayMs: 0,
  readBytes: 8192,
  writeBytes: 0,
  readChars: 9000,
  writeChars: 12,
  voluntaryCtxSwitches: 1,
  involuntaryCtxSwitches: 11,
  queryElapsedMs: 1500,
  queryObservedMs: 200.5,
  queryOnCpuMs: 190.25,
  queryRunQueueMs: 8,
  queryOffCpuMs: 2.25,
  queryBlkioDelayMs: 0,
  tier: "procfs",
};

const CHECKPOINTER: KernelBackendRow = {
  pid: 70,
  backendType: "checkpointer",
  waitEventType: "Activity",
  waitEvent: "CheckpointerMain",
  intervalMs: 200.5,
  cpuUserMs: 0,
  cpuSysMs: 0,
  onCpuMs: 0.04,
  runQueueMs: 0,
  offCpuMs: 200.46,
  timeslices: 1,
  voluntaryCtxSwitches: 1,
  involuntaryCtxSwitches: 0,
  tier: "procfs",
};

const QUERY: KernelQueryRow = {
  databaseName: "shop",
  queryId: "-6482174329745523713",
  backends: 1,
  parallelWorkers: 0,
  intervalMs: 200.5,
  cpuUserMs: 180,
  cpuSysMs: 10,
  onCpuMs: 190.25,
  runQueueMs: 8,
  offCpuMs: 2.25,
  voluntaryCtxSwitches: 1,
  involuntaryCtxSwitches: 11,
  tier: "procfs",
};

const KERNEL: KernelMetrics = {
  tier: "procfs",
  intervalStartUnixMs: 1_772_359_200_000,
  intervalEndUnixMs: 1_772_359_200_200,
  continuous: false,
  perBackend: [CHECKPOINTER, BUSY],
  perQuery: [QUERY],
  pressure: {
    cpu: {
      some: { avg10Pct: 30.33, avg60Pct: 12.08, avg300Pct: 11.41, stallMs: 11.922, totalUs: 1077847810 },
      full: { avg10Pct: 0, avg60Pct: 0, avg300Pct: 0, stallMs: 0, totalUs: 0 },
    },
    io: { some: { avg10Pct: 0.04, avg60Pct: 0.03, avg300Pct: 0.09, stallMs: 0, totalUs: 48673286 } },
  },
  delayAccounting: false,
  ioReadable: true,
};

const withKernel = (k: KernelMetrics = KERNEL): UnifiedMetrics => ({
  ...fixtureSnapshot(),
  kernelMetrics: k,
});

Deno.test("kernel NRI: the host set, then the query sets, then the backend sets", () => {
  const { types, dropped } = kernelMetricSets(withKernel(), { cluster: "prod" });
  assert.deepEqual(dropped, []);
  assert.equal(types.length, 1);
  assert.equal(types[0].eventType, "PostgresKernelMetrics");
  const sets = types[0].sets.map((s) => Object.fromEntries(s));
  assert.deepEqual(sets.map((s) => [s.scope, s.pid]), [
    ["host", undefined],
    ["query", undefined],
    ["backend", 70],
    ["backend", 4242],
  ]);
  assert.deepEqual(sets[0], {
    event_type: "PostgresKernelMetrics",
    scope: "host",
    interval_ms: 200,
    delay_accounting: 0,
    io_readable: 1,
    cpu_some_avg10: 30.33,
    cpu_some_avg60: 12.08,
    cpu_some_avg300: 11.41,
    cpu_some_stall_ms: 11.922,
    cpu_full_avg10: 0,
    cpu_full_avg60: 0,
    cpu_full_avg300: 0,
    cpu_full_stall_ms: 0,
    io_some_avg10: 0.04,
    io_some_avg60: 0.03,
    io_some_avg300: 0.09,
    io_some_stall_ms: 0,
    tier: "procfs",
    cluster_name: "prod",
  });
  assert.deepEqual(sets[1], {
    event_type: "PostgresKernelMetrics",
    scope: "query",
    database_name: "shop",
    query_id: "-6482174329745523713",
    backends: 1,
    parallel_workers: 0,
    interval_ms: 200.5,
    cpu_user_ms: 180,
    cpu_sys_ms: 10,
    on_cpu_ms: 190.25,
    run_queue_ms: 8,
    off_cpu_ms: 2.25,
    voluntary_ctx_switches: 1,
    involuntary_ctx_switches: 11,
    tier: "procfs",
    cluster_name: "prod",
  });
  assert.deepEqual(sets[2], {
    event_type: "PostgresKernelMetrics",
    scope: "backend",
    pid: 70,
    backend_type: "checkpointer",
    wait_event_type: "Activity",
    wait_event: "CheckpointerMain",
    interval_ms: 200.5,
    cpu_user_ms: 0,
    cpu_sys_ms: 0,
    on_cpu_ms: 0.04,
    run_queue_ms: 0,
    off_cpu_ms: 200.46,
    timeslices: 1,
    voluntary_ctx_switches: 1,
    involuntary_ctx_switches: 0,
    tier: "procfs",
    cluster_name: "prod",
  });
  assert.equal(sets[3].query_elapsed_ms, 1500);
  assert.equal(sets[3].read_chars, 9000);
  assert.equal(sets[3].blkio_delay_ms, 0);
});

Deno.test("kernel NRI: the other documents stay byte for byte what they are without it; it comes last", () => {
  assertOtherDocumentsUnchanged(withKernel);
  const types = qpmMetricSets({ ...withKernel(), activeSessionHistory: [] }, { isRds: false, compat: true })
    .types.map((t) => t.eventType);
  assert.deepEqual(types.slice(-2), ["PostgresActiveSessionHistory", "PostgresKernelMetrics"]);
});

Deno.test("kernel NRI: documents meet the closed schema in protocol 3 and 4", () => {
  assertExtendedDocumentsValid(withKernel, "kernel-metrics.schema.json");
});

Deno.test("kernel NRI: the schema refuses keys of another scope, missing keys and wrong values", () => {
  const doc = JSON.parse(encodeQpmDocuments(withKernel(), DEFAULTS).documents.at(-1)!);
  const problems = (index: number, change: Record<string, unknown>, drop?: string) => {
    const copy = structuredClone(doc);
    const set = copy.data[0].metrics[index];
    Object.assign(set, change);
    if (drop) delete set[drop];
    return validateDocument(copy).errors.length;
  };
  assert.equal(problems(0, {}), 0);
  assert.ok(problems(0, { pid: 1 }) > 0, "a host set has no pid");
  assert.ok(problems(1, { backend_type: "client backend" }) > 0, "a query set has no backend type");
  assert.ok(problems(3, {}, "pid") > 0, "a backend set needs its pid");
  assert.ok(problems(3, { scope: "process" }) > 0);
  assert.ok(problems(3, { on_cpu_ms: -1 }) > 0);
  assert.ok(problems(0, { cpu_some_avg10: 101 }) > 0, "a share of time is at most 100 %");
  assert.ok(problems(0, { delay_accounting: 2 }) > 0);
  assert.ok(problems(2, { tier: "ebpf" }) > 0);
});

Deno.test("kernel NRI: no OS metrics, no document; a value that is not a number is dropped and said", () => {
  assert.deepEqual(kernelMetricSets(fixtureSnapshot()), { types: [], dropped: [] });
  const broken = { ...KERNEL, perBackend: [{ ...BUSY, onCpuMs: NaN }] };
  const { types, dropped } = kernelMetricSets(withKernel(broken));
  assert.deepEqual(dropped, [{
    eventType: "PostgresKernelMetrics",
    key: "on_cpu_ms",
    reason: "not a finite number: NaN",
  }]);
  assert.equal(types[0].sets.at(-1)!.get("pid"), 4242);
});
