import assert from "node:assert/strict";
import { startCluster } from "./cluster.ts";
import {
  clusterEnv,
  collectorCommand,
  metricSetsByType,
  runCollectorFor,
  runCollectorProcess,
} from "./collector.ts";
import { versionLine } from "../../src/version.ts";

/** A rate-state directory the collector may write (under its allowed /tmp/pgquerylens). */
const tempDir = () => `/tmp/pgquerylens/test-collector-${crypto.randomUUID()}`;

Deno.test("collector: runCollectorProcess -show_version exits 0 with the version line", async () => {
  const run = await runCollectorProcess(["-show_version"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, `${versionLine()}\n`);
  assert.match(run.stdout, /^pgquerylens-collector Version: \S+, Platform: /);
  assert.equal(run.stderr, "");
});

Deno.test("collector: the process sees only the environment the test passes", async () => {
  const name = "PGQUERYLENS_MODE";
  const before = Deno.env.get(name);
  Deno.env.set(name, "bogus");
  try {
    const clean = await runCollectorProcess(["-show_version"]);
    assert.equal(clean.code, 0, `the test process's ${name} leaked into the collector: ${clean.stderr}`);
  } finally {
    if (before === undefined) Deno.env.delete(name);
    else Deno.env.set(name, before);
  }
  const passed = await runCollectorProcess(["-show_version"], { [name]: "bogus" });
  assert.equal(passed.code, 1);
  assert.match(passed.stderr, /mode \(environment variable PGQUERYLENS_MODE\): .*"bogus"/);
});

Deno.test("collector: collectorCommand runs under the collector permission set (-P=collector)", async () => {
  // A file this test may read, outside the directories the collector's permission set allows.
  const file = await Deno.makeTempFile({ prefix: "pgql-collector-", suffix: ".toml" });
  try {
    await Deno.writeTextFile(file, `hostname = "db.example"\n`);
    assert.equal(await Deno.readTextFile(file), `hostname = "db.example"\n`, "precondition: readable here");
    const out = await collectorCommand([`-config=${file}`], { USERNAME: "u", PASSWORD: "p" }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(stderr, /outside the directories the collector may read/);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("collector: runCollectorProcess stops a run that outlives its timeout", async () => {
  const started = Date.now();
  // A daemon that would run forever; the unreachable port keeps it from doing real work.
  const run = await runCollectorProcess(["-interval=1s", "-port=1"], { USERNAME: "u", PASSWORD: "p" }, 1500);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1500 && elapsed < 20_000, `stopped after ${elapsed} ms`);
  assert.match(run.stderr, /ECONNREFUSED/);
});

Deno.test("collector: metricSetsByType groups every metric set of every document by event type", () => {
  const doc = (sets: Record<string, string | number>[][]) =>
    JSON.stringify({ name: "x", data: sets.map((metrics) => ({ entity: {}, metrics })) });
  const stdout = [
    doc([[{ event_type: "A", v: 1 }, { event_type: "B", v: 2 }], [{ event_type: "A", v: 3 }]]),
    "",
    doc([[{ event_type: "C", v: "x" }], []]),
    JSON.stringify({ name: "inventory only", data: [{ entity: {}, inventory: {} }] }),
    doc([[{ event_type: "A", v: 4 }]]),
    "  ",
  ].join("\n");
  const sets = metricSetsByType(stdout);
  assert.deepEqual([...sets.keys()], ["A", "B", "C"]);
  assert.deepEqual(sets.get("A")!.map((m) => m.v), [1, 3, 4]);
  assert.deepEqual(sets.get("B"), [{ event_type: "B", v: 2 }]);
  assert.deepEqual(sets.get("C"), [{ event_type: "C", v: "x" }]);
  assert.deepEqual(metricSetsByType(""), new Map());
  assert.throws(() => metricSetsByType("not json"), SyntaxError);
});

Deno.test("collector: against a real cluster", async (t) => {
  await using cluster = await startCluster({ name: "collectorhelper" });
  await cluster.createRole("watcher", "watcher-pw", { grants: ["pg_monitor"] });

  await t.step("clusterEnv points the collector at the cluster as the given role", async () => {
    const env = clusterEnv(cluster, "watcher", "watcher-pw");
    assert.deepEqual(env, {
      HOSTNAME: "127.0.0.1",
      PORT: String(cluster.port),
      USERNAME: "watcher",
      PASSWORD: "watcher-pw",
    });
    const dir = tempDir();
    try {
      const run = await runCollectorProcess([], { ...env, COLLECTION_LIST: '["postgres"]', TEMP_DIR: dir });
      assert.equal(run.code, 0, run.stderr);
      const sets = metricSetsByType(run.stdout);
      assert.equal(sets.get("PostgresqlInstanceSample")?.[0].displayName, `127.0.0.1:${cluster.port}`);
      assert.deepEqual(sets.get("PostgresqlDatabaseSample")?.map((s) => s.displayName), [
        "postgres",
        "postgres",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });

  await t.step("runCollectorFor runs a daemon for a while, then stops it with SIGTERM", async () => {
    const started = Date.now();
    const run = await runCollectorFor(
      ["-interval=500ms"],
      { ...clusterEnv(cluster, "watcher", "watcher-pw"), COLLECTION_LIST: '["postgres"]' },
      2500,
    );
    const elapsed = Date.now() - started;
    // Exit code 0: it stopped on SIGTERM by itself (SIGKILL, 30 s later, would give 137).
    assert.equal(run.code, 0, run.stderr);
    assert.ok(elapsed >= 2500 && elapsed < 30_000, `ran for ${elapsed} ms`);
    const cycles = metricSetsByType(run.stdout).get("PostgresqlInstanceSample")?.length ?? 0;
    assert.ok(cycles >= 2, `several cycles ran before the signal, got ${cycles}\n${run.stderr}`);
  });
});
