import assert from "node:assert/strict";
import { DEFAULT_OPTIONS } from "./overhead_options.ts";
import { overheadReport } from "./overhead_report.ts";
import { computeVerdicts, type OverheadResult } from "./overhead_result.ts";
import type { PgbenchResult } from "./pgbench.ts";
import { formatReport } from "./report.ts";

const pgb = (tps: number): PgbenchResult => ({
  tps,
  transactions: tps * 10,
  failed: 0,
  latencyMs: 2000 / tps,
});
const cg = (perStatement: number, libraryPerStatement = 0) => ({
  runs: [{ statements: 1000, instructions: 0 }, { statements: 3000, instructions: 0 }] as [
    { statements: number; instructions: number },
    { statements: number; instructions: number },
  ],
  perStatement,
  libraryPerStatement,
});
const ql = (cpuMode: string, samplerRunning: boolean) => ({
  recordsWritten: 500_000,
  recordsRead: 2048,
  recordsWithCpu: cpuMode === "thread" ? 2048 : 0,
  samplePeriodMs: samplerRunning ? 10 : 0,
  samplerRunning,
  cpuMode,
});

function sample(): OverheadResult {
  const r: OverheadResult = {
    options: { ...DEFAULT_OPTIONS, configurations: ["none", "qid", "pgss", "ql_ring", "ql_cpu"], rounds: 2 },
    pgbench: {
      none: { selectOnly: [pgb(50_000), pgb(60_000)], selectOne: [pgb(100_000), pgb(100_000)] },
      pgss: { selectOnly: [pgb(49_000), pgb(51_000)], selectOne: [pgb(98_000), pgb(98_000)] },
      ql_ring: { selectOnly: [pgb(54_000), pgb(56_000)], selectOne: [pgb(99_000), pgb(99_000)] },
      ql_cpu: { selectOnly: [pgb(50_000), pgb(50_000)], selectOne: [pgb(95_000), pgb(95_000)] },
    },
    checks: [
      { config: "none", round: 0, position: 0, preload: "", transactions: 10 },
      {
        config: "pgss",
        round: 0,
        position: 1,
        preload: "pg_stat_statements",
        transactions: 10,
        pgssCalls: 11,
      },
      {
        config: "ql_ring",
        round: 0,
        position: 2,
        preload: "pg_querylens",
        transactions: 10,
        querylens: ql("off", false),
      },
      {
        config: "ql_cpu",
        round: 0,
        position: 3,
        preload: "pg_querylens",
        transactions: 10,
        querylens: ql("thread", false),
      },
    ],
    selfTiming: {
      ql_ring: {
        executions: 20_000,
        nsPerExecution: 197.04,
        hooks: [
          { hook: "executor_end", calls: 20_001, totalNs: 1_728_086, meanNs: 86.4 },
          { hook: "executor_start", calls: 20_000, totalNs: 2_212_000, meanNs: 110.6 },
        ],
      },
    },
    callgrind: {
      none: cg(100_000),
      qid: cg(102_900),
      pgss: cg(105_000, 624),
      ql_ring: cg(104_300, 869),
      ql_cpu: cg(104_340, 899),
    },
    nativeCpuNsPerStatement: 11_500,
    instructionsPerNs: 100_000 / 11_500,
    verdicts: [],
  };
  r.verdicts = computeVerdicts(r);
  return r;
}

Deno.test("overheadReport: TPS medians against none, time added, self-timing and callgrind rows", () => {
  const report = overheadReport(sample());
  const row = (metric: string) => {
    const found = report.rows.find((r) => r.metric === metric);
    assert.ok(found, `row "${metric}" missing; rows:\n${report.rows.map((r) => r.metric).join("\n")}`);
    return found;
  };
  assert.deepEqual(row("pgbench -S -M prepared -c 2 -j 2: median TPS, no extension"), {
    metric: "pgbench -S -M prepared -c 2 -j 2: median TPS, no extension",
    value: 55_000,
    unit: "count",
    baseline: undefined,
  });
  assert.deepEqual(row("pgbench -S -M prepared -c 2 -j 2: median TPS, pg_querylens ring only").baseline, {
    value: 55_000,
    label: "no extension, same rounds",
  });
  // 2 cores: 2/50,000 − 2/55,000 s = 3636.4 ns.
  assert.equal(
    row("pgbench -S -M prepared -c 2 -j 2: ns added per transaction, pg_stat_statements (defaults)").value,
    3636.4,
  );
  // 1 core: 1/95,000 − 1/100,000 s = 526.3 ns.
  assert.equal(
    row("pgbench SELECT 1 -c 1 -j 1: ns added per transaction, pg_querylens ring + cpu=thread").value,
    526.3,
  );
  assert.equal(row("self-timing: ns of own code per statement, pg_querylens ring only").value, 197);
  assert.equal(row("self-timing: executor_start mean ns, pg_querylens ring only").value, 110.6);
  assert.equal(row("callgrind: instructions per statement, pg_querylens ring only").baseline!.value, 100_000);
  assert.equal(row("callgrind: instructions added per statement, pg_querylens ring only").value, 4300);
  assert.equal(row("callgrind: ns added per statement, pg_querylens ring only").value, 494.5);
  assert.equal(row("callgrind: of which beyond computing query ids, pg_querylens ring only").value, 1400);
  assert.equal(row("callgrind: of which in pg_querylens code, pg_querylens ring only").value, 869);
  assert.equal(row("callgrind: ns added per statement, no extension, compute_query_id=on").value, 333.5);
  assert.equal(report.rows.some((r) => r.metric.includes("beyond computing query ids, no extension")), false);
  assert.equal(row("single-user, no extension: instructions per ns").value, 8.7);
  assert.equal(
    report.rows.some((r) => r.metric.includes("ring + sampler")),
    false,
    "not measured, not reported",
  );
});

Deno.test("overheadReport notes: spreads, checks and every verdict", () => {
  const result = sample();
  const report = overheadReport(result);
  const text = formatReport(report);
  assert.ok(
    report.notes.includes(
      "pgbench -S TPS spread (min–max): none 50000–60000, pgss 49000–51000, ql_ring 54000–56000, ql_cpu 50000–50000",
    ),
    text,
  );
  assert.ok(
    report.notes.includes(
      "checked pgss: shared_preload_libraries='pg_stat_statements' on all 1 visits; pg_stat_statements counted 11 calls per visit (median)",
    ),
    text,
  );
  assert.ok(
    report.notes.some((n) => n.startsWith("checked ql_cpu: ") && n.endsWith("sampler off, cpu_mode thread")),
    text,
  );
  const verdicts = report.notes.filter((n) => /^(PASS|FAIL): /.test(n));
  assert.equal(verdicts.length, result.verdicts.length);
  assert.ok(
    verdicts.includes(
      "PASS: ring-only adds under 1 µs per statement — by self-timing: 197.0 ns (limit 1000.0 ns)",
    ),
    verdicts.join("\n"),
  );
  assert.ok(
    verdicts.includes(
      "PASS: ring-only adds no more than pg_stat_statements — by callgrind instructions per statement: 4300.0 instructions (pg_stat_statements adds 5000.0 instructions)",
    ),
    verdicts.join("\n"),
  );
  assert.ok(
    verdicts.some((v) =>
      v.startsWith("PASS: ring-only adds under 1 µs per statement — by pgbench") &&
      v.endsWith("[informational: too noisy to decide]")
    ),
  );
  assert.match(text, /pinned to CPU 0/);
});
