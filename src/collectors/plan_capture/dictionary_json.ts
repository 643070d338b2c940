/**
 * The plan dictionary as JSON: `{version, plans, queries, counters}` with plans and queries as
 * objects (least recently seen first) and statement counters as `[database, queryId, calls,
 * totalMs, seenMs]` arrays. Reading checks every field and names the first one that is wrong.
 *
 * @module
 */

import {
  createDictionary,
  enforceBounds,
  type PendingChange,
  type PlanDictionary,
  type PlanIdentity,
  planKey,
  type PlanRecord,
  queryKey,
  type QueryRecord,
} from "./dictionary.ts";

/** Version of the JSON format. */
export const PLAN_DICTIONARY_VERSION = 1;

/** The dictionary as a JSON value. */
export function dictionaryToJson(dict: PlanDictionary): unknown {
  return {
    version: PLAN_DICTIONARY_VERSION,
    plans: [...dict.plans.values()],
    queries: [...dict.queries.values()],
    counters: [...dict.counters].map(([key, c]) => [...key.split("\u0000"), c.calls, c.totalMs, c.seenMs]),
  };
}

type Obj = Record<string, unknown>;

function fail(path: string, what: string): never {
  throw new Error(`${path} ${what}`);
}

function object(v: unknown, path: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(path, "is not an object");
  return v as Obj;
}

function text(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== "string" || v === "") fail(`${path}.${key}`, "is not a non-empty string");
  return v;
}

function id(o: Obj, key: string, path: string): string {
  const v = text(o, key, path);
  if (!/^-?\d+$/.test(v)) fail(`${path}.${key}`, "is not a decimal id");
  return v;
}

function count(o: Obj, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    fail(`${path}.${key}`, "is not a finite number >= 0");
  }
  return v;
}

function identity(o: Obj, path: string): PlanIdentity {
  const v = o.identity;
  if (v !== "pg_querylens" && v !== "shape") fail(`${path}.identity`, 'is not "pg_querylens" or "shape"');
  return v;
}

function optionalCount(o: Obj, key: string, path: string): number | undefined {
  return o[key] === undefined ? undefined : count(o, key, path);
}

function withOptional<T extends Obj>(base: T, extra: Obj): T {
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (base as Obj)[k] = v;
  return base;
}

function planFrom(v: unknown, path: string): PlanRecord {
  const o = object(v, path);
  return withOptional({
    databaseName: text(o, "databaseName", path),
    queryId: id(o, "queryId", path),
    planId: id(o, "planId", path),
    firstSeenMs: count(o, "firstSeenMs", path),
    lastSeenMs: count(o, "lastSeenMs", path),
    executionCount: count(o, "executionCount", path),
    avgDurationMs: count(o, "avgDurationMs", path),
  }, {
    totalCost: optionalCount(o, "totalCost", path),
    startupCost: optionalCount(o, "startupCost", path),
    nodeCount: optionalCount(o, "nodeCount", path),
  });
}

function pendingFrom(v: unknown, path: string): PendingChange {
  const o = object(v, path);
  return withOptional({
    previousPlanId: id(o, "previousPlanId", path),
    planId: id(o, "planId", path),
    detectedAtMs: count(o, "detectedAtMs", path),
    executionsBefore: count(o, "executionsBefore", path),
    executionsAfter: count(o, "executionsAfter", path),
    totalMsAfter: count(o, "totalMsAfter", path),
  }, {
    avgDurationBeforeMs: optionalCount(o, "avgDurationBeforeMs", path),
    previousTotalCost: optionalCount(o, "previousTotalCost", path),
  });
}

function queryFrom(v: unknown, path: string): QueryRecord {
  const o = object(v, path);
  return withOptional({
    databaseName: text(o, "databaseName", path),
    queryId: id(o, "queryId", path),
    currentPlanId: id(o, "currentPlanId", path),
    identity: identity(o, path),
    lastSeenMs: count(o, "lastSeenMs", path),
  }, { pending: o.pending === undefined ? undefined : pendingFrom(o.pending, `${path}.pending`) });
}

function array(doc: Obj, key: string): unknown[] {
  const v = doc[key];
  if (!Array.isArray(v)) fail(key, "is not an array");
  return v;
}

/**
 * Reads a dictionary from its JSON value, keeping at most `maxPlans` plans (the most recently
 * seen; a file written with a larger bound is trimmed).
 *
 * @throws Error naming the first field that is missing or of the wrong type
 */
export function dictionaryFromJson(json: unknown, maxPlans: number): PlanDictionary {
  const doc = object(json, "the document");
  if (doc.version !== PLAN_DICTIONARY_VERSION) {
    fail("version", `is ${JSON.stringify(doc.version)}, not ${PLAN_DICTIONARY_VERSION}`);
  }
  const dict = createDictionary(maxPlans);
  const plans = array(doc, "plans").map((p, i) => planFrom(p, `plans[${i}]`));
  for (const p of plans.sort((a, b) => a.lastSeenMs - b.lastSeenMs)) {
    dict.plans.set(planKey(p.databaseName, p.queryId, p.planId), p);
  }
  const queries = array(doc, "queries").map((q, i) => queryFrom(q, `queries[${i}]`));
  for (const q of queries.sort((a, b) => a.lastSeenMs - b.lastSeenMs)) {
    dict.queries.set(queryKey(q.databaseName, q.queryId), q);
  }
  const counters = array(doc, "counters").map((c, i) => {
    const path = `counters[${i}]`;
    if (!Array.isArray(c) || c.length !== 5) fail(path, "is not [database, queryId, calls, totalMs, seenMs]");
    const o = { databaseName: c[0], queryId: c[1], calls: c[2], totalMs: c[3], seenMs: c[4] };
    return {
      key: queryKey(text(o, "databaseName", path), id(o, "queryId", path)),
      value: {
        calls: count(o, "calls", path),
        totalMs: count(o, "totalMs", path),
        seenMs: count(o, "seenMs", path),
      },
    };
  });
  for (const c of counters.sort((a, b) => a.value.seenMs - b.value.seenMs)) dict.counters.set(c.key, c.value);
  enforceBounds(dict);
  return dict;
}
