import assert from "node:assert/strict";
import { DEFAULT_OPTIONS, type QuerylensOverheadOptions, validateOptions } from "./overhead_options.ts";
import type { ConfigId } from "./querylens_configs.ts";

Deno.test("the defaults: every configuration, 5 rounds of 10 s, 20,000 self-timed, callgrind 1000/3000", () => {
  assert.deepEqual(DEFAULT_OPTIONS.configurations, [
    "none",
    "qid",
    "pgss",
    "ql_ring",
    "ql_sampler",
    "ql_cpu",
  ]);
  assert.equal(DEFAULT_OPTIONS.scale, 10);
  assert.ok(DEFAULT_OPTIONS.rounds >= 5);
  assert.equal(DEFAULT_OPTIONS.pgbenchSeconds, 10);
  assert.ok(DEFAULT_OPTIONS.warmupSeconds >= 3 && DEFAULT_OPTIONS.warmupSeconds <= 5);
  assert.equal(DEFAULT_OPTIONS.selfTimingExecutions, 20_000);
  assert.deepEqual(DEFAULT_OPTIONS.callgrindStatements, [1000, 3000]);
  validateOptions({ ...DEFAULT_OPTIONS });
});

Deno.test("validateOptions names the option out of range", () => {
  const bad = (over: Partial<QuerylensOverheadOptions>, pattern: RegExp) =>
    assert.throws(() => validateOptions({ ...DEFAULT_OPTIONS, ...over }), pattern);
  bad({ rounds: 0 }, /option rounds must be a positive integer, got 0/);
  bad({ pgbenchSeconds: 1.5 }, /option pgbenchSeconds must be a positive integer, got 1.5/);
  bad({ selectOneSeconds: -1 }, /option selectOneSeconds must be a non-negative integer/);
  bad(
    { callgrindStatements: [300, 300] },
    /callgrindStatements must be two integers 1 ≤ N1 < N2, got 300, 300/,
  );
  bad({ rateStatements: 1000 }, /rateStatements must exceed N1 \(1000\), got 1000/);
  bad({ configurations: ["pgss"] }, /must include none, the baseline/);
  bad({ configurations: ["none", "nope" as ConfigId] }, /unknown configuration "nope"/);
  bad({ configurations: ["none", "pgss", "none"] }, /lists a configuration twice/);
  validateOptions({ ...DEFAULT_OPTIONS, selectOneSeconds: 0, configurations: ["none"] });
});
