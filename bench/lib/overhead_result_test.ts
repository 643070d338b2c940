import assert from "node:assert/strict";
import { DEFAULT_OPTIONS } from "./overhead_options.ts";
import { computeVerdicts, type OverheadResult, RING_TARGET_NS } from "./overhead_result.ts";
import type { PgbenchResult } from "./pgbench.ts";

const pgb = (tps: number): PgbenchResult => ({
  tps,
  transactions: tps * 10,
  failed: 0,
  latencyMs: 2000 / tps,
});
const cg = (perStatement: number, libraryPerStatement = 0) => ({
  runs: [{ statements: 1000, instructions: 1e8 }, {
    statements: 3000,
    instructions: 1e8 + 2000 * perStatement,
  }] as [
    { statements: number; instructions: number },
    { statements: number; instructions: number },
  ],
  perStatement,
  libraryPerStatement,
});

/** A run's result with the given figures: none at 100,000 instructions and 50,000 TPS. */
function result(ring: { selfNs: number; instructions: number; tps: number }, pgssInstructions = 102_000) {
  const r: OverheadResult = {
    options: { ...DEFAULT_OPTIONS, configurations: [...DEFAULT_OPTIONS.configurations] },
    pgbench: {
      none: { selectOnly: [pgb(50_000), pgb(40_000), pgb(60_000)], selectOne: [] },
      pgss: { selectOnly: [pgb(48_000)], selectOne: [] },
      ql_ring: { selectOnly: [pgb(ring.tps)], selectOne: [] },
    },
    checks: [],
    selfTiming: {
      ql_ring: { executions: 100, nsPerExecution: ring.selfNs, hooks: [] },
    },
    callgrind: { none: cg(100_000), pgss: cg(pgssInstructions, 600), ql_ring: cg(ring.instructions, 800) },
    nativeCpuNsPerStatement: 12_500,
    instructionsPerNs: 8,
    verdicts: [],
  };
  return r;
}

Deno.test("computeVerdicts: ring-only under budget and cheaper than pgss passes by every method", () => {
  const v = computeVerdicts(result({ selfNs: 200, instructions: 101_000, tps: 49_900 }));
  assert.deepEqual(
    v.map((x) => [x.claim, x.method, x.value, x.limit, x.unit, x.pass, x.trusted]),
    [
      ["ring-only adds under 1 µs per statement", "self-timing", 200, RING_TARGET_NS, "ns", true, true],
      [
        "ring-only adds under 1 µs per statement",
        "callgrind, at 8.00 instructions/ns",
        125,
        1000,
        "ns",
        true,
        true,
      ],
      [
        "ring-only adds no more than pg_stat_statements",
        "callgrind instructions per statement",
        1000,
        2000,
        "instructions",
        true,
        true,
      ],
      [
        "ring-only adds under 1 µs per statement",
        "pgbench -S median TPS (noisy)",
        v[3].value,
        1000,
        "ns",
        true,
        false,
      ],
      [
        "ring-only adds no more than pg_stat_statements",
        "pgbench -S median TPS (noisy)",
        v[3].value,
        v[4].limit,
        "ns",
        true,
        false,
      ],
    ],
  );
  // 2 cores: 2/49,900 − 2/50,000 s = 80.16 ns; pgss 2/48,000 − 2/50,000 s = 1666.7 ns.
  assert.equal(Math.round(v[3].value), 80);
  assert.equal(Math.round(v[4].limit), 1667);
});

Deno.test("computeVerdicts fails a target that is missed, and leaves out what was not measured", () => {
  const v = computeVerdicts(result({ selfNs: 1500, instructions: 110_000, tps: 40_000 }));
  assert.deepEqual(v.map((x) => x.pass), [false, false, false, false, false]);
  assert.equal(v[1].value, 10_000 / 8);

  const partial = result({ selfNs: 1, instructions: 100_001, tps: 50_000 });
  partial.instructionsPerNs = undefined;
  delete partial.callgrind.pgss;
  delete partial.pgbench.ql_ring;
  delete partial.selfTiming.ql_ring;
  assert.deepEqual(computeVerdicts(partial), []);
});
