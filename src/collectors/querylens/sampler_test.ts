import assert from "node:assert/strict";
import { defaultConfig } from "../../config/defaults.ts";
import type { QueryLensRule } from "../../config/types.ts";
import {
  createSampler,
  endCycle,
  ruleMatches,
  sampleFraction,
  sampleRecords,
  type SamplerSettings,
  samplerSettings,
} from "./sampler.ts";
import { qlRecord, qlRecords, QUERY_ID } from "./testing.ts";

const SETTINGS: SamplerSettings = { slowMs: 100, rules: [], ratePerSecond: 0, burst: 0, maxPerCycle: 1000 };

function rule(name: string, over: Partial<QueryLensRule> = {}): QueryLensRule {
  return { name, priority: 0, rate: 1, bypassRateLimit: false, match: {}, ...over };
}

const reasons = (kept: { reason: string }[]) => kept.map((k) => k.reason);

Deno.test("sampler: failed and slow executions are kept even with an empty bucket", () => {
  const s = createSampler(SETTINGS, 0);
  const kept = sampleRecords(s, [
    qlRecord({ execSeq: 1n, durationNs: 1_000_000 }),
    qlRecord({ execSeq: 2n, type: "error", sqlstate: "57014", durationNs: 1_000 }),
    qlRecord({ execSeq: 3n, durationNs: 100_000_000 }),
    qlRecord({ execSeq: 4n, durationNs: 99_999_000 }),
  ], 0);
  assert.deepEqual(kept.map((k) => [k.record.execSeq, k.reason]), [[2n, "error"], [3n, "slow"]]);
  assert.deepEqual(s.cycle, { kept: { error: 1, slow: 1 }, sampledOut: { rate_limit: 2 } });
});

Deno.test("sampler: the token bucket lets a burst through, then refills at the rate, never beyond the burst", () => {
  const s = createSampler({ ...SETTINGS, ratePerSecond: 4, burst: 3 }, 1_000);
  assert.equal(sampleRecords(s, qlRecords(10), 1_000).length, 3);
  assert.deepEqual(s.cycle.sampledOut, { rate_limit: 7 });
  // 500 ms at 4/s: two tokens.
  assert.equal(sampleRecords(s, qlRecords(10), 1_500).length, 2);
  // A long pause refills the bucket to the burst only.
  assert.equal(sampleRecords(s, qlRecords(10), 60_000).length, 3);
  // Time going backwards adds nothing.
  assert.equal(sampleRecords(s, qlRecords(10), 59_000).length, 0);
  assert.deepEqual(s.total.kept, { default: 8 });
});

Deno.test("sampler: rules are tried highest priority first and the first match decides", () => {
  const rules = [
    rule("drop-all", { priority: 1, rate: 0 }),
    rule("keep-shop", { priority: 5, match: { database: "shop" } }),
  ];
  const s = createSampler({ ...SETTINGS, burst: 100, rules }, 0);
  const names = new Map([[16384, "shop"], [16385, "other"]]);
  const kept = sampleRecords(
    s,
    [qlRecord({ execSeq: 1n, dbid: 16384 }), qlRecord({ execSeq: 2n, dbid: 16385 })],
    0,
    (dbid) => names.get(dbid),
  );
  assert.deepEqual(reasons(kept), ["rule:keep-shop"]);
  assert.deepEqual(s.cycle, { kept: { "rule:keep-shop": 1 }, sampledOut: { "rule:drop-all": 1 } });
  // Equal priorities keep the given order.
  const tie = createSampler({ ...SETTINGS, burst: 100, rules: [rule("first"), rule("second")] }, 0);
  assert.deepEqual(reasons(sampleRecords(tie, [qlRecord()], 0)), ["rule:first"]);
});

Deno.test("sampler: rule-kept executions take a token unless the rule bypasses the rate limit", () => {
  const limited = createSampler({ ...SETTINGS, rules: [rule("r")] }, 0);
  assert.deepEqual(sampleRecords(limited, qlRecords(2), 0), []);
  assert.deepEqual(limited.cycle.sampledOut, { rate_limit: 2 });
  const bypass = createSampler({ ...SETTINGS, rules: [rule("r", { bypassRateLimit: true })] }, 0);
  assert.deepEqual(reasons(sampleRecords(bypass, qlRecords(2), 0)), ["rule:r", "rule:r"]);
});

Deno.test("sampler: a rule keeps the share of executions its rate says, reproducibly", () => {
  const records = qlRecords(20_000);
  const keptAt = (rate: number) => {
    const settings = {
      ...SETTINGS,
      maxPerCycle: records.length,
      rules: [rule("r", { rate, bypassRateLimit: true })],
    };
    const s = createSampler(settings, 0);
    return new Set(sampleRecords(s, records, 0).map((k) => k.record.execSeq));
  };
  const low = keptAt(0.3);
  assert.ok(low.size > 0.28 * records.length && low.size < 0.32 * records.length, `${low.size}`);
  assert.deepEqual(keptAt(0.3), low, "the same executions get the same decision");
  const high = keptAt(0.6);
  assert.ok(high.size > 0.58 * records.length && high.size < 0.62 * records.length, `${high.size}`);
  for (const seq of low) assert.ok(high.has(seq), "a higher rate keeps a superset");
  assert.equal(keptAt(0).size, 0);
  assert.equal(keptAt(1).size, records.length);
});

Deno.test("sampler: the fraction depends on the pid and on both halves of the execution number", () => {
  const f = sampleFraction(4242, 1n);
  assert.ok(f >= 0 && f < 1);
  assert.equal(sampleFraction(4242, 1n), f);
  assert.notEqual(sampleFraction(4243, 1n), f);
  assert.notEqual(sampleFraction(4242, 2n), f);
  assert.notEqual(sampleFraction(4242, 1n + (1n << 32n)), f);
});

Deno.test("sampler: each match condition must hold", () => {
  const r = qlRecord({ durationNs: 5_000_000, cmdType: 2, toplevel: false });
  const m = (match: QueryLensRule["match"], database?: string) =>
    ruleMatches(rule("x", { match }), r, database);
  assert.equal(m({}), true);
  assert.equal(m({ database: "shop" }, "shop"), true);
  assert.equal(m({ database: "shop" }, "other"), false);
  assert.equal(m({ database: "shop" }, undefined), false);
  assert.equal(m({ queryId: QUERY_ID.toString() }), true);
  assert.equal(m({ queryId: "42" }), false);
  assert.equal(m({ minDurationMs: 5 }), true);
  assert.equal(m({ minDurationMs: 5.001 }), false);
  assert.equal(m({ cmdType: "update" }), true);
  assert.equal(m({ cmdType: "select" }), false);
  assert.equal(m({ toplevel: false }), true);
  assert.equal(m({ toplevel: true }), false);
  assert.equal(m({ cmdType: "update", toplevel: true }), false);
});

Deno.test("sampler: the cap bounds every reason per cycle, slow and failed ones placed first", () => {
  const s = createSampler({ ...SETTINGS, burst: 100, maxPerCycle: 2 }, 0);
  const kept = sampleRecords(s, [
    qlRecord({ execSeq: 1n }),
    qlRecord({ execSeq: 2n }),
    qlRecord({ execSeq: 3n, durationNs: 200_000_000 }),
    qlRecord({ execSeq: 4n, type: "error" }),
    qlRecord({ execSeq: 5n, durationNs: 300_000_000 }),
  ], 0);
  assert.deepEqual(kept.map((k) => [k.record.execSeq, k.reason]), [[3n, "slow"], [4n, "error"]]);
  assert.deepEqual(s.cycle.sampledOut, { cap: 3 });
  assert.equal(s.tokens, 100, "capped executions take no token");
  const cycle = endCycle(s);
  assert.deepEqual(cycle, { kept: { slow: 1, error: 1 }, sampledOut: { cap: 3 } });
  assert.deepEqual(s.cycle, { kept: {}, sampledOut: {} });
  assert.deepEqual(reasons(sampleRecords(s, qlRecords(3), 0)), ["default", "default"]);
  assert.deepEqual(s.total, { kept: { slow: 1, error: 1, default: 2 }, sampledOut: { cap: 4 } });
});

Deno.test("samplerSettings: slowMs defaults to the response-time threshold", () => {
  const c = defaultConfig();
  c.queryMonitoringResponseTimeThreshold = 250;
  assert.deepEqual(samplerSettings(c), {
    slowMs: 250,
    rules: [],
    ratePerSecond: 20,
    burst: 100,
    maxPerCycle: 1000,
  });
  c.querylens.slowMs = 40;
  assert.equal(samplerSettings(c).slowMs, 40);
});

Deno.test("createSampler: out-of-range settings are refused by name", () => {
  const bad = (over: Partial<SamplerSettings>, text: string) =>
    assert.throws(() => createSampler({ ...SETTINGS, ...over }, 0), (e: Error) => e.message.includes(text));
  bad({ slowMs: -1 }, "slowMs");
  bad({ ratePerSecond: -1 }, "ratePerSecond");
  bad({ burst: NaN }, "burst");
  bad({ maxPerCycle: 1.5 }, "maxPerCycle");
  bad({ rules: [rule("r", { rate: 2 })] }, 'rule "r": rate');
  bad({ rules: [rule("r"), rule("r")] }, "unique");
  assert.throws(() => createSampler(SETTINGS, NaN), /time/);
});
