import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { StateDirError } from "../core/state_dir.ts";
import { createTopQueryState, EVENT_NAMES, snapshotLogs } from "./logs.ts";
import { createSeriesState, dateToNs, type MetricsResult, snapshotMetrics } from "./metrics.ts";
import {
  emptyExportState,
  exportStateName,
  loadExportState,
  OTEL_STATE_VERSION,
  saveExportState,
} from "./state_store.ts";
import { FIXTURE_INSTANCE, fixtureSnapshot } from "./testing.ts";

const T0 = new Date("2026-03-01T10:00:00Z");
const T1 = new Date("2026-03-01T10:00:30Z");
const { host, port } = FIXTURE_INSTANCE;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pgql-otlp-state-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function commitsPoint(res: MetricsResult) {
  const m = res.resourceMetrics.flatMap((r) => r.scopeMetrics[0].metrics).find((x) =>
    x.name === "postgresql.commits"
  );
  assert.ok(m, "no postgresql.commits");
  return m.points[0];
}

Deno.test("exportStateName: one safe file name per instance, also for socket-directory hosts", () => {
  assert.equal(exportStateName("db1.example.internal", "5432"), "otlp-db1.example.internal-5432.json");
  const socket = exportStateName("/var/run/postgresql", "5432");
  assert.equal(socket, "otlp-_var_run_postgresql-5432.json");
  assert.equal(dirname(join("/state", socket)), "/state");
  assert.equal(exportStateName("../../etc/passwd", "1"), "otlp-.._.._etc_passwd-1.json");
  assert.equal(dirname(join("/state", exportStateName("../../etc/passwd", "1"))), "/state");
  assert.notEqual(exportStateName("db1", "5432"), exportStateName("db1", "5433"));
});

Deno.test("a missing file (and directory) is a first run: empty state, no problem, directory created", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "nested", "state");
    const loaded = await loadExportState(dir, host, port);
    assert.equal(loaded.problem, undefined);
    assert.equal(loaded.path, join(dir, exportStateName(host, port)));
    assert.deepEqual(loaded.state, emptyExportState());
    assert.equal((await Deno.stat(dir)).isDirectory, true);
  });
});

Deno.test("save then load round-trips series and top queries; the next snapshot continues their start times", async () => {
  await withTempDir(async (dir) => {
    const state = emptyExportState();
    const first = snapshotMetrics(fixtureSnapshot(T0, 0), { state: state.series, temporality: "cumulative" });
    assert.equal(commitsPoint(first).startTimeUnixNano, dateToNs(T0));
    assert.deepEqual(
      snapshotLogs(fixtureSnapshot(T0, 0), { state: state.topQueries }).flatMap((r) =>
        r.scopeLogs[0].logRecords.filter((lr) => lr.eventName === EVENT_NAMES.topQuery)
      ),
      [],
    );
    assert.ok(state.series.series.size >= 4);
    assert.equal(state.topQueries.previous.size, 1);

    const { path } = await loadExportState(dir, host, port);
    await saveExportState(path, state);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(JSON.parse(await Deno.readTextFile(path)).version, OTEL_STATE_VERSION);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [exportStateName(host, port)]);

    const loaded = await loadExportState(dir, host, port);
    assert.equal(loaded.problem, undefined);
    assert.deepEqual(loaded.state.series.series, state.series.series);
    assert.deepEqual(loaded.state.topQueries.previous, state.topQueries.previous);

    // The next run continues from the loaded state exactly as one process would have.
    const reference = structuredClone(state);
    const continued = snapshotMetrics(fixtureSnapshot(T1, 5), {
      state: loaded.state.series,
      temporality: "cumulative",
    });
    const inMemory = snapshotMetrics(fixtureSnapshot(T1, 5), {
      state: reference.series,
      temporality: "cumulative",
    });
    assert.deepEqual(continued, inMemory);
    assert.deepEqual(
      [commitsPoint(continued).startTimeUnixNano, commitsPoint(continued).value],
      [dateToNs(T0), 981284n],
    );
    const fresh = snapshotMetrics(fixtureSnapshot(T1, 5), {
      state: createSeriesState(),
      temporality: "cumulative",
    });
    assert.equal(commitsPoint(fresh).startTimeUnixNano, dateToNs(T1));

    const top = snapshotLogs(fixtureSnapshot(T1, 5), { state: loaded.state.topQueries }).flatMap((r) =>
      r.scopeLogs[0].logRecords.filter((lr) => lr.eventName === EVENT_NAMES.topQuery)
    );
    assert.equal(top.length, 1);
    assert.equal(top[0].attributes["postgresql.calls"], 5n);
    assert.equal(top[0].attributes["postgresql.total_exec_time"], 12.5);
    assert.equal(top[0].attributes["postgresql.rows"], 5n);
  });
});

Deno.test("a top query saved without rows loads without rows", async () => {
  await withTempDir(async (dir) => {
    const state = emptyExportState();
    state.topQueries.previous.set("shop\u000042", { calls: 3, totalExecTimeMs: 1.5 });
    const path = join(dir, "s.json");
    await saveExportState(path, state);
    const loaded = await loadExportState(dir, host, port);
    assert.deepEqual(loaded.state.topQueries, createTopQueryState()); // other instance's file name
    await Deno.rename(path, loaded.path);
    const again = await loadExportState(dir, host, port);
    assert.deepEqual([...again.state.topQueries.previous], [["shop\u000042", {
      calls: 3,
      totalExecTimeMs: 1.5,
    }]]);
  });
});

Deno.test("an unusable file gives an empty state and a problem naming the file", async () => {
  const validSeries = { version: 1, series: [["k", "1", 2, "3"]] };
  const cases: [string, string, RegExp][] = [
    ["not JSON", "{not json", /is corrupt \(.*JSON/],
    [
      "wrong version",
      JSON.stringify({ version: 99, series: validSeries, topQueries: [] }),
      /version 99 is not 1/,
    ],
    ["no version", JSON.stringify({ series: validSeries, topQueries: [] }), /version undefined is not 1/],
    ["null document", "null", /version undefined is not 1/],
    [
      "bad series",
      JSON.stringify({ version: 1, series: { version: 1, series: [["k"]] }, topQueries: [] }),
      /entry 0 must be \[key, start, value, time\]/,
    ],
    [
      "topQueries not a list",
      JSON.stringify({ version: 1, series: validSeries, topQueries: {} }),
      /topQueries is not an array/,
    ],
    [
      "topQueries entry",
      JSON.stringify({
        version: 1,
        series: validSeries,
        topQueries: [["a", { calls: 1, totalExecTimeMs: 2 }], ["b", { calls: "1" }]],
      }),
      /topQueries\[1\] is not \[key, \{calls, totalExecTimeMs, rows\?\}\]/,
    ],
    [
      "topQueries rows",
      JSON.stringify({
        version: 1,
        series: validSeries,
        topQueries: [["a", { calls: 1, totalExecTimeMs: 2, rows: "x" }]],
      }),
      /topQueries\[0\]/,
    ],
  ];
  await withTempDir(async (dir) => {
    const path = join(dir, exportStateName(host, port));
    for (const [name, text, reason] of cases) {
      await Deno.writeTextFile(path, text);
      const loaded = await loadExportState(dir, host, port);
      assert.equal(loaded.path, path);
      assert.deepEqual(loaded.state, emptyExportState(), name);
      assert.ok(loaded.problem?.includes(path), `${name}: ${loaded.problem}`);
      assert.match(loaded.problem!, /starting empty$/, name);
      assert.match(loaded.problem!, reason, name);
    }
    // Replacing it works: the next save makes it usable again.
    await saveExportState(path, emptyExportState());
    assert.equal((await loadExportState(dir, host, port)).problem, undefined);
  });
});

Deno.test("a state path that cannot be read is a problem; a state directory that is a file is an error", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, exportStateName(host, port));
    await Deno.mkdir(path);
    const loaded = await loadExportState(dir, host, port);
    assert.deepEqual(loaded.state, emptyExportState());
    assert.match(loaded.problem ?? "", new RegExp(`^cannot read OTLP state ${path}: `));
    await assert.rejects(saveExportState(path, emptyExportState()), (e) => {
      assert.ok(e instanceof StateDirError);
      assert.match(e.message, new RegExp(`cannot write OTLP state ${path}`));
      return true;
    });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [exportStateName(host, port)]);

    const file = join(dir, "plain-file");
    await Deno.writeTextFile(file, "");
    await assert.rejects(loadExportState(file, host, port), (e) => {
      assert.ok(e instanceof StateDirError);
      assert.match(e.message, new RegExp(`OTLP state directory ${file} exists but is not a directory`));
      return true;
    });
  });
});
