import assert from "node:assert/strict";
import { loadedPrograms } from "../tests/support/ebpf.ts";
import {
  benchmark,
  costPerHitNs,
  cpuNs,
  DEFAULT_OPTIONS,
  HITS_PER_SIMPLE_QUERY,
  runEbpfBench,
} from "./ebpf.ts";

Deno.test("the default benchmark runs interleaved rounds of every measurement", () => {
  assert.equal(benchmark.name, "ebpf");
  assert.ok(DEFAULT_OPTIONS.rounds >= 3);
});

Deno.test("costPerHitNs divides the time the tier adds per query by the hits of a query", () => {
  assert.equal(costPerHitNs(50_000, 10_000, 4), 10_000);
  assert.equal(
    costPerHitNs(10_000, 12_000, 4),
    -500,
    "noise can make it negative; it is reported as measured",
  );
  assert.throws(() => costPerHitNs(50_000, 10_000, 0), /no probe hits per query \(0\)/);
});

Deno.test("cpuNs of a process that does not exist is an error", () => {
  assert.throws(() => cpuNs(0x7ffffff0), Deno.errors.NotFound);
});

Deno.test("runEbpfBench rejects sizes it cannot run", async () => {
  await assert.rejects(
    runEbpfBench({ ...DEFAULT_OPTIONS, rounds: 0 }),
    /ebpf: option rounds must be a positive integer, got 0/,
  );
});

Deno.test("a small run reports the cost per hit and the TPS ratio, and leaves no program behind", async () => {
  const report = await runEbpfBench({ rounds: 1, selectOneQueries: 2000, pgbenchSeconds: 1, scale: 1 });
  assert.equal(report.title, "eBPF tier: cost per probe hit and pgbench TPS, on vs off");
  const row = (metric: string) => {
    const found = report.rows.find((r) => r.metric === metric);
    assert.ok(found, `no row "${metric}" in ${report.rows.map((r) => r.metric).join(", ")}`);
    return found;
  };
  const hits = row("probe hits per SELECT 1").value;
  assert.ok(hits >= HITS_PER_SIMPLE_QUERY && hits < HITS_PER_SIMPLE_QUERY + 0.1, `${hits}`);
  const cpu = row("backend CPU per SELECT 1 (ns), eBPF tier on");
  assert.ok(cpu.value > 1000 && cpu.baseline!.value > 1000, `${cpu.value} vs ${cpu.baseline?.value}`);
  const cost = row("cost per probe hit (ns of backend CPU)").value;
  assert.ok(Math.abs(cost - costPerHitNs(cpu.value, cpu.baseline!.value, hits)) <= 1, `${cost}`);
  const wall = row("SELECT 1 wall time per query (ns), eBPF tier on");
  assert.ok(wall.value > 1000 && wall.baseline!.value > 1000, `${wall.value} vs ${wall.baseline?.value}`);
  const tps = row("pgbench -S -M prepared TPS, eBPF tier on");
  assert.ok(tps.value > 0 && tps.baseline!.value > 0);
  const perTransaction = row("probe hits per pgbench -S transaction").value;
  assert.ok(perTransaction >= 2 && perTransaction < 2.1, `Execute start and done: ${perTransaction}`);
  assert.deepEqual(await loadedPrograms(), []);
});
