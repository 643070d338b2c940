import assert from "node:assert/strict";
import { benchmark, measureQuerylensOverhead } from "./querylens_overhead.ts";
import { DEFAULT_OPTIONS, type QuerylensOverheadOptions } from "./lib/overhead_options.ts";
import { overheadReport } from "./lib/overhead_report.ts";
import { type ConfigId, CONFIGURATIONS } from "./lib/querylens_configs.ts";

Deno.test("the benchmark has its name, and bad options fail before any server starts", async () => {
  assert.equal(benchmark.name, "querylens_overhead");
  assert.match(benchmark.description, /pg_querylens/);
  await assert.rejects(
    measureQuerylensOverhead({ ...DEFAULT_OPTIONS, configurations: ["pgss"] }),
    /must include none, the baseline/,
  );
});

Deno.test("a tiny run measures every configuration three ways with each one really in effect", async () => {
  const opts: QuerylensOverheadOptions = {
    configurations: ["none", "qid", "pgss", "ql_ring", "ql_sampler", "ql_cpu"],
    scale: 1,
    rounds: 1,
    warmupSeconds: 1,
    pgbenchSeconds: 1,
    selectOneSeconds: 1,
    selfTimingExecutions: 500,
    callgrindStatements: [20, 60],
    rateStatements: 20_000,
    rateRepeats: 1,
  };
  const result = await measureQuerylensOverhead(opts);

  // pgbench: one visit per configuration, each with the configuration it claims.
  const visited: ConfigId[] = ["none", "pgss", "ql_ring", "ql_sampler", "ql_cpu"];
  assert.deepEqual(result.checks.map((c) => c.config), visited);
  const check = (id: ConfigId) => result.checks.find((c) => c.config === id)!;
  assert.equal(check("none").preload, "");
  assert.equal(check("pgss").preload, "pg_stat_statements");
  assert.ok(check("pgss").pgssCalls! >= check("pgss").transactions);
  for (const id of ["ql_ring", "ql_sampler", "ql_cpu"] as const) {
    const c = check(id);
    assert.equal(c.preload, "pg_querylens");
    assert.ok(c.querylens!.recordsRead > 0, `${id}: pg_querylens_read returned no records`);
    assert.ok(c.querylens!.recordsWritten >= c.transactions);
    assert.equal(c.querylens!.samplerRunning, id === "ql_sampler");
    assert.equal(c.querylens!.cpuMode, id === "ql_cpu" ? "thread" : "off");
    assert.equal(c.querylens!.recordsWithCpu > 0, id === "ql_cpu");
  }
  assert.equal(result.pgbench.qid, undefined);
  for (const id of visited) {
    const runs = result.pgbench[id]!;
    assert.equal(runs.selectOnly.length, 1);
    assert.equal(runs.selectOne.length, 1);
    assert.ok(runs.selectOnly[0].tps > 0 && runs.selectOne[0].tps > 0);
  }

  // Self-timing for the pg_querylens configurations only.
  assert.deepEqual(Object.keys(result.selfTiming).sort(), ["ql_cpu", "ql_ring", "ql_sampler"]);
  for (const st of Object.values(result.selfTiming)) {
    assert.equal(st.executions, 500);
    assert.ok(st.nsPerExecution > 0);
  }

  // callgrind for all but the sampler, with the library's own code counted.
  assert.deepEqual(Object.keys(result.callgrind).sort(), ["none", "pgss", "qid", "ql_cpu", "ql_ring"]);
  const cg = result.callgrind;
  assert.equal(cg.none!.libraryPerStatement, 0);
  assert.equal(cg.qid!.libraryPerStatement, 0);
  assert.ok(cg.qid!.perStatement > cg.none!.perStatement, "computing query ids costs instructions");
  for (const id of ["pgss", "ql_ring", "ql_cpu"] as const) {
    assert.ok(cg[id]!.libraryPerStatement > 0, `${id}: no instructions in the library`);
    assert.ok(cg[id]!.perStatement > cg.none!.perStatement, `${id} costs no instructions over none`);
    assert.deepEqual(cg[id]!.runs.map((r) => r.statements), [20, 60]);
  }
  assert.ok(result.nativeCpuNsPerStatement! > 0);
  assert.ok(
    result.instructionsPerNs! > 0.1 && result.instructionsPerNs! < 100,
    `${result.instructionsPerNs}`,
  );

  // Verdicts: both targets by the trusted methods, and pgbench's as information.
  const verdict = (claim: string, method: string) =>
    result.verdicts.find((v) => v.claim.includes(claim) && v.method.startsWith(method));
  const bySelfTiming = verdict("under 1 µs", "self-timing")!;
  assert.equal(bySelfTiming.value, result.selfTiming.ql_ring!.nsPerExecution);
  assert.equal(bySelfTiming.pass, bySelfTiming.value < 1000);
  assert.ok(verdict("under 1 µs", "callgrind")!.trusted);
  const vsPgss = verdict("no more than pg_stat_statements", "callgrind")!;
  assert.equal(vsPgss.limit, cg.pgss!.perStatement - cg.none!.perStatement);
  assert.equal(vsPgss.pass, vsPgss.value <= vsPgss.limit);
  assert.equal(verdict("under 1 µs", "pgbench")!.trusted, false);

  // The report: ratios against none, and every verdict printed.
  const report = overheadReport(result);
  const row = (metric: string) => {
    const found = report.rows.find((r) => r.metric === metric);
    assert.ok(found, `row "${metric}" missing; rows: ${report.rows.map((r) => r.metric).join(" | ")}`);
    return found;
  };
  for (const c of CONFIGURATIONS.filter((c) => c.pgbench)) {
    const tps = row(`pgbench -S -M prepared -c 2 -j 2: median TPS, ${c.label}`);
    assert.equal(tps.baseline?.label, c.id === "none" ? undefined : "no extension, same rounds");
    row(`pgbench SELECT 1 -c 1 -j 1: median TPS, ${c.label}`);
    if (c.selfTiming) row(`self-timing: ns of own code per statement, ${c.label}`);
  }
  for (const c of CONFIGURATIONS.filter((c) => c.callgrind)) {
    row(`callgrind: instructions per statement, ${c.label}`);
    if (c.id !== "none") row(`callgrind: ns added per statement, ${c.label}`);
    if (c.preload.length > 0) row(`callgrind: of which beyond computing query ids, ${c.label}`);
  }
  assert.equal(report.notes.filter((n) => /^(PASS|FAIL): /.test(n)).length, result.verdicts.length);
  assert.ok(
    report.notes.some((n) => n.startsWith("checked ql_sampler: shared_preload_libraries='pg_querylens'")),
  );
});
