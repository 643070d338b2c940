/**
 * The adaptive sampler: which pg_querylens executions are exported one by one.
 *
 * Each record is decided in this order:
 * 1. failed executions are kept (reason `error`), and executions of at least `slowMs` (reason
 *    `slow`); neither is rate limited;
 * 2. otherwise the rules are tried by priority, highest first (equal priorities in their given
 *    order); the first whose conditions all hold decides: the execution is kept when its sampling
 *    fraction (a hash of pid and execution number, so the same execution always gets the same
 *    decision) is below the rule's rate, else sampled out (reason `rule:<name>`);
 * 3. executions no rule matched (reason `default`) and those a rule kept without
 *    `bypassRateLimit` take a token from a bucket of `burst` tokens refilled at `ratePerSecond`;
 *    without a token they are sampled out (`rate_limit`);
 * 4. whatever the reason, at most `maxPerCycle` executions are kept per cycle; the rest are
 *    sampled out (`cap`). Within one batch, failed and slow executions are placed first.
 *
 * Counters of kept and sampled-out executions by reason are kept for the cycle and since the
 * sampler was created. The sampler is pure: it reads no clock (time is passed in) and does no I/O;
 * its state is the {@link Sampler} object it updates.
 *
 * @module
 */

import type { Config, QueryLensRule } from "../../config/types.ts";
import type { SamplerCounts } from "../../core/model.ts";
import type { QueryLensRecord } from "../../extensions/querylens_record.ts";
import { commandOf, durationMsOf, type SampledRecord } from "./executions.ts";

/** What the sampler is told. */
export interface SamplerSettings {
  /** Executions of at least this many milliseconds are always kept. */
  slowMs: number;
  /** Rules (any order; the sampler orders them by priority). */
  rules: readonly QueryLensRule[];
  /** Tokens added to the bucket per second. */
  ratePerSecond: number;
  /** Bucket size (and its initial content). */
  burst: number;
  /** Most executions kept per cycle. */
  maxPerCycle: number;
}

/** The sampler's state. */
export interface Sampler {
  /** Settings, with the rules in the order they are tried. */
  readonly settings: SamplerSettings;
  /** Tokens in the bucket. */
  tokens: number;
  /** Time of the last refill, in milliseconds. */
  lastRefillMs: number;
  /** Executions kept in the current cycle. */
  keptThisCycle: number;
  /** Decisions since the sampler was created. */
  readonly total: SamplerCounts;
  /** Decisions of the current cycle. */
  cycle: SamplerCounts;
}

/** The sampler settings of a configuration (`slowMs` defaults to the QPM response-time threshold). */
export function samplerSettings(
  config: Pick<Config, "querylens" | "queryMonitoringResponseTimeThreshold">,
): SamplerSettings {
  const q = config.querylens;
  return {
    slowMs: q.slowMs ?? config.queryMonitoringResponseTimeThreshold,
    rules: q.rules,
    ratePerSecond: q.ratePerSecond,
    burst: q.burst,
    maxPerCycle: q.maxPerCycle,
  };
}

/** An empty {@link SamplerCounts}. */
export function emptyCounts(): SamplerCounts {
  return { kept: {}, sampledOut: {} };
}

/**
 * A new sampler with a full bucket at `nowMs`.
 *
 * @throws RangeError naming the setting when one is out of range (negative numbers, a rate outside
 * 0..1, two rules with one name).
 */
export function createSampler(settings: SamplerSettings, nowMs: number): Sampler {
  const check = (ok: boolean, what: string, value: unknown) => {
    if (!ok) throw new RangeError(`sampler: ${what}, got ${JSON.stringify(value)}`);
  };
  check(Number.isFinite(settings.slowMs) && settings.slowMs >= 0, "slowMs must be >= 0", settings.slowMs);
  check(
    Number.isFinite(settings.ratePerSecond) && settings.ratePerSecond >= 0,
    "ratePerSecond must be >= 0",
    settings.ratePerSecond,
  );
  check(Number.isFinite(settings.burst) && settings.burst >= 0, "burst must be >= 0", settings.burst);
  check(
    Number.isInteger(settings.maxPerCycle) && settings.maxPerCycle >= 0,
    "maxPerCycle must be an integer >= 0",
    settings.maxPerCycle,
  );
  check(Number.isFinite(nowMs), "the time must be a finite number of milliseconds", nowMs);
  const names = new Set<string>();
  for (const r of settings.rules) {
    check(r.rate >= 0 && r.rate <= 1, `rule "${r.name}": rate must be from 0 to 1`, r.rate);
    check(!names.has(r.name), "rule names must be unique", r.name);
    names.add(r.name);
  }
  const rules = settings.rules.toSorted((a, b) => b.priority - a.priority);
  return {
    settings: { ...settings, rules },
    tokens: settings.burst,
    lastRefillMs: nowMs,
    keptThisCycle: 0,
    total: emptyCounts(),
    cycle: emptyCounts(),
  };
}

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The sampling fraction of an execution, in [0, 1): a hash of its backend pid and execution number,
 * so a decision can be reproduced from the record alone.
 */
export function sampleFraction(pid: number, execSeq: bigint): number {
  const lo = Number(BigInt.asUintN(32, execSeq));
  const hi = Number(BigInt.asUintN(32, execSeq >> 32n));
  let h = mix32((0x9e3779b9 ^ pid) >>> 0);
  h = mix32((h ^ lo) >>> 0);
  h = mix32((h ^ hi ^ 0x27d4eb2f) >>> 0);
  return h / 2 ** 32;
}

/** Whether `rule`'s conditions all hold for `r` (in database `database`, when known). */
export function ruleMatches(rule: QueryLensRule, r: QueryLensRecord, database: string | undefined): boolean {
  const m = rule.match;
  if (m.database !== undefined && m.database !== database) return false;
  if (m.queryId !== undefined && BigInt(m.queryId) !== r.queryId) return false;
  if (m.minDurationMs !== undefined && durationMsOf(r) < m.minDurationMs) return false;
  if (m.cmdType !== undefined && commandOf(r.cmdType).toLowerCase() !== m.cmdType) return false;
  if (m.toplevel !== undefined && m.toplevel !== r.toplevel) return false;
  return true;
}

function bump(counts: Record<string, number>, reason: string): void {
  counts[reason] = (counts[reason] ?? 0) + 1;
}

/** A decision before the rate limit and the cap: the reason, and whether it needs a token. */
interface Candidate {
  reason: string;
  limited: boolean;
}

function candidate(s: Sampler, r: QueryLensRecord, database: string | undefined): Candidate | string {
  if (r.type === "error") return { reason: "error", limited: false };
  if (durationMsOf(r) >= s.settings.slowMs) return { reason: "slow", limited: false };
  const rule = s.settings.rules.find((rule) => ruleMatches(rule, r, database));
  if (rule === undefined) return { reason: "default", limited: true };
  const reason = `rule:${rule.name}`;
  if (sampleFraction(r.pid, r.execSeq) >= rule.rate) return reason;
  return { reason, limited: !rule.bypassRateLimit };
}

function refill(s: Sampler, nowMs: number): void {
  if (!Number.isFinite(nowMs)) throw new RangeError(`sampler: the time must be finite, got ${nowMs}`);
  const elapsed = nowMs - s.lastRefillMs;
  if (elapsed > 0) {
    s.tokens = Math.min(s.settings.burst, s.tokens + (elapsed * s.settings.ratePerSecond) / 1000);
    s.lastRefillMs = nowMs;
  }
}

/**
 * Decides `records` read at `nowMs` (the bucket is refilled for the time since the previous call)
 * and returns the kept ones, in their order, with their reasons. `databaseOf` names a record's
 * database for rules that match on it (a rule naming a database never matches an unknown oid).
 */
export function sampleRecords(
  s: Sampler,
  records: readonly QueryLensRecord[],
  nowMs: number,
  databaseOf: (dbid: number) => string | undefined = () => undefined,
): SampledRecord[] {
  refill(s, nowMs);
  const decided: (string | Candidate)[] = records.map((r) => candidate(s, r, databaseOf(r.dbid)));
  const reasons: (string | undefined)[] = new Array(records.length);
  const out = (i: number, reason: string) => {
    bump(s.cycle.sampledOut, reason);
    bump(s.total.sampledOut, reason);
    reasons[i] = undefined;
  };
  const consider = (i: number, c: Candidate) => {
    if (s.keptThisCycle >= s.settings.maxPerCycle) return out(i, "cap");
    if (c.limited) {
      if (s.tokens < 1) return out(i, "rate_limit");
      s.tokens -= 1;
    }
    s.keptThisCycle++;
    bump(s.cycle.kept, c.reason);
    bump(s.total.kept, c.reason);
    reasons[i] = c.reason;
  };
  decided.forEach((c, i) => {
    if (typeof c === "string") out(i, c);
    else if (c.reason === "error" || c.reason === "slow") consider(i, c);
  });
  decided.forEach((c, i) => {
    if (typeof c !== "string" && !(c.reason === "error" || c.reason === "slow")) consider(i, c);
  });
  const kept: SampledRecord[] = [];
  records.forEach((record, i) => {
    const reason = reasons[i];
    if (reason !== undefined) kept.push({ record, reason });
  });
  return kept;
}

/** Ends the current cycle: returns its counters and starts the next cycle (and its cap) from zero. */
export function endCycle(s: Sampler): SamplerCounts {
  const counts = s.cycle;
  s.cycle = emptyCounts();
  s.keptThisCycle = 0;
  return counts;
}
