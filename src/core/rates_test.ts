import assert from "node:assert/strict";
import { join } from "node:path";
import type { BaseEntity, BaseSample, RawMetric, SourceType } from "./model.ts";
import { DEFAULT_CACHE_TTL_SECONDS, RateStore, RateStoreError } from "./rates.ts";

const DB: BaseEntity = {
  name: "shop",
  type: "pg-database",
  idAttributes: [{ key: "host", value: "h" }, { key: "port", value: "5432" }],
};
const T0 = 1_700_000_000_000;

function sample(metrics: [string, SourceType, number | string][], eventType = "PostgresqlDatabaseSample") {
  const raw: RawMetric[] = metrics.map(([name, sourceType, value]) => ({ name, sourceType, value }));
  return { entity: DB, eventType, metrics: raw } satisfies BaseSample;
}

function one(store: RateStore, type: SourceType, value: number | string, nowMs: number): number | string {
  const out = store.apply(sample([["m", type, value]]), nowMs);
  assert.deepEqual(out.dropped, []);
  assert.equal(out.values.length, 1);
  return out.values[0][1];
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "rates_test_" });
}

Deno.test("rate: first observation 0, then difference per elapsed second", () => {
  const s = RateStore.memory();
  assert.equal(one(s, "rate", 100, T0), 0);
  assert.equal(one(s, "rate", 400, T0 + 10_000), 30);
  assert.equal(one(s, "rate", 401, T0 + 12_500), 0.4);
});

Deno.test("rate keeps negative results; prate gives 0 on a counter reset", () => {
  const s = RateStore.memory();
  s.apply(sample([["a", "rate", 500], ["b", "prate", 500]]), T0);
  const out = s.apply(sample([["a", "rate", 300], ["b", "prate", 300]]), T0 + 4_000);
  assert.deepEqual(out.values, [["a", -50], ["b", 0]]);
  // prate continues from the reset value.
  const next = s.apply(sample([["b", "prate", 340]]), T0 + 6_000);
  assert.deepEqual(next.values, [["b", 20]]);
});

Deno.test("delta and pdelta: difference regardless of time, pdelta clamped at 0", () => {
  const s = RateStore.memory();
  s.apply(sample([["d", "delta", 10], ["p", "pdelta", 10]]), T0);
  const out = s.apply(sample([["d", "delta", 3], ["p", "pdelta", 3]]), T0 + 60_000);
  assert.deepEqual(out.values, [["d", -7], ["p", 0]]);
  const next = s.apply(sample([["d", "delta", 8], ["p", "pdelta", 8]]), T0 + 61_000);
  assert.deepEqual(next.values, [["d", 5], ["p", 5]]);
});

Deno.test("gauge and attribute pass through; order kept; numeric strings are numbers", () => {
  const s = RateStore.memory();
  const out = s.apply(
    sample([["g", "gauge", 2.5], ["big", "gauge", "12345678901"], ["attr", "attribute", "on"], [
      "n",
      "attribute",
      7,
    ]]),
    T0,
  );
  assert.deepEqual(out.values, [["g", 2.5], ["big", 12345678901], ["attr", "on"], ["n", "7"]]);
  assert.equal(s.size, 0, "gauges and attributes are not stored");
});

Deno.test("counters arriving as decimal strings are rated", () => {
  const s = RateStore.memory();
  one(s, "rate", "1000", T0);
  assert.equal(one(s, "rate", "1600", T0 + 3_000), 200);
});

Deno.test("non-finite results are dropped and counted, the rest of the sample kept", () => {
  const s = RateStore.memory();
  const out = s.apply(
    sample([["nan", "gauge", Number.NaN], ["inf", "rate", Infinity], ["txt", "gauge", "abc"], [
      "empty",
      "delta",
      "",
    ], [
      "ok",
      "gauge",
      1,
    ]]),
    T0,
  );
  assert.deepEqual(out.values, [["ok", 1]]);
  assert.deepEqual(out.dropped, ["nan", "inf", "txt", "empty"]);
  assert.equal(s.droppedCount, 4);
  // Zero elapsed time cannot give a rate.
  s.apply(sample([["r", "rate", 1]]), T0);
  const same = s.apply(sample([["r", "rate", 5]]), T0);
  assert.deepEqual(same.dropped, ["r"]);
  assert.equal(s.droppedCount, 5);
});

Deno.test("keys are separate per entity, event type and metric name", () => {
  const s = RateStore.memory();
  const other: BaseEntity = {
    ...DB,
    idAttributes: [{ key: "host", value: "h" }, { key: "port", value: "5433" }],
  };
  s.apply(sample([["m", "delta", 10]]), T0);
  s.apply(sample([["m", "delta", 100]], "OtherSample"), T0);
  s.apply({
    entity: other,
    eventType: "PostgresqlDatabaseSample",
    metrics: [{ name: "m", sourceType: "delta", value: 1000 }],
  }, T0);
  assert.equal(s.size, 3);
  assert.deepEqual(s.apply(sample([["m", "delta", 11]]), T0 + 1).values, [["m", 1]]);
  assert.deepEqual(s.apply(sample([["m", "delta", 102]], "OtherSample"), T0 + 1).values, [["m", 2]]);
});

Deno.test("samples of one entity and type keep apart by their attributes", () => {
  const s = RateStore.memory();
  const row = (user: string, value: number): BaseSample => ({
    entity: DB,
    eventType: "PgCustomQuerySample",
    metrics: [{ name: "user", sourceType: "attribute", value: user }, {
      name: "n",
      sourceType: "delta",
      value,
    }],
  });
  s.apply(row("alice", 10), T0);
  s.apply(row("bob", 1000), T0);
  assert.equal(s.size, 2);
  assert.deepEqual(s.apply(row("alice", 15), T0 + 1).values, [["user", "alice"], ["n", 5]]);
  assert.deepEqual(s.apply(row("bob", 1001), T0 + 1).values, [["user", "bob"], ["n", 1]]);
  // Attributes naming the entity are not part of the key: a renamed displayName keeps the series.
  const named = (displayName: string, value: number): BaseSample => ({
    entity: DB,
    eventType: "PostgresqlTableSample",
    metrics: [{ name: "displayName", sourceType: "attribute", value: displayName }, {
      name: "n",
      sourceType: "delta",
      value,
    }],
  });
  s.apply(named("a", 1), T0);
  assert.deepEqual(s.apply(named("b", 4), T0 + 1).values, [["displayName", "b"], ["n", 3]]);
});

Deno.test("TTL: a value older than the TTL counts as absent; save prunes it", async () => {
  const s = RateStore.memory(60);
  one(s, "rate", 100, T0);
  assert.equal(one(s, "rate", 160, T0 + 60_000), 1, "exactly the TTL is still valid");
  assert.equal(one(s, "rate", 500, T0 + 60_000 + 60_001), 0, "older than the TTL: first observation again");
  assert.equal(one(s, "rate", 560, T0 + 180_001), 1);
  s.apply(sample([["other", "delta", 1]]), T0);
  assert.equal(s.size, 2);
  await s.save(T0 + 180_001);
  assert.equal(s.size, 1);
});

Deno.test("default TTL is nri-postgresql's 6 minutes", () => {
  assert.equal(DEFAULT_CACHE_TTL_SECONDS, 360);
  const s = RateStore.memory();
  one(s, "delta", 1, T0);
  assert.equal(one(s, "delta", 4, T0 + 360_000), 3);
  assert.equal(one(s, "delta", 9, T0 + 360_000 + 360_001), 0);
});

Deno.test("persistence: two one-shot runs on the same directory give the right rate", async () => {
  const dir = await tempDir();
  try {
    const first = await RateStore.load(dir, "postgresql-h-5432", 360);
    assert.equal(first.loadReport?.kind, "missing");
    assert.match(first.loadReport!.message, /postgresql-h-5432\.json/);
    assert.deepEqual(first.apply(sample([["r", "rate", 1000], ["d", "delta", 5]]), T0).values, [["r", 0], [
      "d",
      0,
    ]]);
    await first.save(T0);

    const second = await RateStore.load(dir, "postgresql-h-5432", 360);
    assert.equal(second.loadReport, undefined);
    assert.equal(second.path, join(dir, "postgresql-h-5432.json"));
    const out = second.apply(sample([["r", "rate", 1900], ["d", "delta", 12]]), T0 + 30_000);
    assert.deepEqual(out.values, [["r", 30], ["d", 7]]);
    await second.save(T0 + 30_000);

    // A store of another name does not see these values.
    const other = await RateStore.load(dir, "postgresql-h-5433", 360);
    assert.equal(other.size, 0);
    assert.equal(other.loadReport?.kind, "missing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("persistence: a value stored longer ago than the TTL is absent in the next run", async () => {
  const dir = await tempDir();
  try {
    const first = await RateStore.load(dir, "s", 60);
    first.apply(sample([["r", "rate", 10]]), T0);
    await first.save(T0);
    const second = await RateStore.load(dir, "s", 60);
    assert.equal(second.size, 1);
    assert.deepEqual(second.apply(sample([["r", "rate", 70]]), T0 + 61_000).values, [["r", 0]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("corrupt state file: warning naming the file, empty store, no throw", async () => {
  const dir = await tempDir();
  try {
    for (const text of ["{not json", "[]", '{"version":99,"entries":{}}', '{"version":2,"entries":[]}']) {
      await Deno.writeTextFile(join(dir, "s.json"), text);
      const s = await RateStore.load(dir, "s");
      assert.equal(s.loadReport?.kind, "corrupt", text);
      assert.ok(s.loadReport!.message.includes(join(dir, "s.json")), s.loadReport!.message);
      assert.equal(s.size, 0);
      assert.equal(one(s, "rate", 5, T0), 0);
      await s.save(T0);
      const again = await RateStore.load(dir, "s");
      assert.equal(again.loadReport, undefined, "a save replaces the corrupt file");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed entries are skipped and reported, good ones kept", async () => {
  const dir = await tempDir();
  try {
    const first = await RateStore.load(dir, "s");
    first.apply(sample([["r", "rate", 10]]), T0);
    await first.save(T0);
    const doc = JSON.parse(await Deno.readTextFile(join(dir, "s.json")));
    doc.entries["bad1"] = { value: "x", timestampMs: T0 };
    doc.entries["bad2"] = null;
    await Deno.writeTextFile(join(dir, "s.json"), JSON.stringify(doc));
    const s = await RateStore.load(dir, "s");
    assert.equal(s.loadReport?.kind, "corrupt");
    assert.match(s.loadReport!.message, /2 malformed entries ignored/);
    assert.equal(s.size, 1);
    assert.deepEqual(s.apply(sample([["r", "rate", 30]]), T0 + 2_000).values, [["r", 10]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("save is atomic: only the state file remains, mode 0600, directory created 0700", async () => {
  const base = await tempDir();
  try {
    const dir = join(base, "nested", "state");
    const s = await RateStore.load(dir, "s");
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    s.apply(sample([["r", "rate", 1]]), T0);
    await s.save(T0);
    await s.save(T0 + 1);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["s.json"]);
    assert.equal((await Deno.stat(join(dir, "s.json"))).mode! & 0o777, 0o600);
    const doc = JSON.parse(await Deno.readTextFile(join(dir, "s.json")));
    assert.equal(doc.version, 2);
    assert.deepEqual(Object.values(doc.entries), [{ value: 1, timestampMs: T0 }]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("failed save names the file and leaves no temporary file", async () => {
  const dir = await tempDir();
  try {
    // A non-empty directory where the state file should be: the rename cannot replace it.
    await Deno.mkdir(join(dir, "s.json", "blocker"), { recursive: true });
    const s = await RateStore.load(dir, "s");
    assert.equal(s.loadReport?.kind, "corrupt");
    s.apply(sample([["r", "rate", 1]]), T0);
    await assert.rejects(() => s.save(T0), (e: unknown) => {
      assert.ok(e instanceof RateStoreError);
      assert.equal(e.path, join(dir, "s.json"));
      assert.ok(e.message.includes(join(dir, "s.json")), e.message);
      return true;
    });
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["s.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unusable state directory: clear error naming the path", async () => {
  const base = await tempDir();
  try {
    const file = join(base, "not-a-dir");
    await Deno.writeTextFile(file, "x");
    await assert.rejects(
      () => RateStore.load(file, "s"),
      (e: unknown) =>
        e instanceof RateStoreError && e.path === file && e.message.includes(`${file} exists but`),
    );
    const under = join(file, "sub");
    await assert.rejects(
      () => RateStore.load(under, "s"),
      (e: unknown) => e instanceof RateStoreError && e.path === under && e.message.includes(under),
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("bad arguments are rejected with clear errors", async () => {
  await assert.rejects(() => RateStore.load(undefined, "a/b"), /plain file name, got "a\/b"/);
  await assert.rejects(() => RateStore.load(undefined, ""), /plain file name/);
  await assert.rejects(() => RateStore.load(undefined, "s", 0), /cache_ttl must be a positive number/);
  assert.throws(
    () => RateStore.memory(Number.NaN),
    /cache_ttl must be a positive number of seconds, got NaN/,
  );
});

Deno.test("load without a directory is memory-only: save writes nothing", async () => {
  const s = await RateStore.load(undefined, "s");
  assert.equal(s.path, undefined);
  assert.equal(s.loadReport, undefined);
  one(s, "delta", 1, T0);
  await s.save(T0);
  assert.equal(one(s, "delta", 3, T0 + 1_000), 2);
});
