import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { defaultConfig } from "../config/defaults.ts";
import type { Config } from "../config/types.ts";
import { createLogger, IssueReporter } from "../core/log.ts";
import { initSqlParser } from "../query_engine/sql_text.ts";
import { Collector } from "./cycle.ts";

await initSqlParser();

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function collector(config: Config) {
  const lines: string[] = [];
  const c = new Collector(config, new IssueReporter(createLogger("debug", (l) => lines.push(l))));
  return { c, lines };
}

Deno.test("Collector.collect against a port nobody listens on", async () => {
  const port = String(freePort());
  const { c, lines } = collector({
    ...defaultConfig(),
    username: "u",
    password: "p",
    hostname: "127.0.0.1",
    port,
  });
  try {
    const snap = await c.collect();
    assert.equal(snap.issues.length, 1, JSON.stringify(snap.issues));
    const [issue] = snap.issues;
    assert.equal(issue.component, "connection");
    assert.equal(issue.severity, "error");
    assert.ok(issue.message.includes(`127.0.0.1:${port}/postgres`), issue.message);
    assert.match(issue.message, /ECONNREFUSED/);
    assert.deepEqual(snap.instance, {
      host: "127.0.0.1",
      port,
      serverVersionNum: 0,
      majorVersion: 0,
      serverVersion: "",
    });
    assert.deepEqual([snap.slowQueries, snap.waitEvents, snap.executionPlans], [[], [], []]);
    const again = await c.collect();
    assert.equal(again.issues.length, 1, "each snapshot carries its own issues");
    assert.equal(lines.length, 1, `logged once per cause: ${lines.join("\n")}`);
    assert.match(lines[0], /^\[ERROR\] connection: cannot collect from 127\.0\.0\.1:/);
  } finally {
    await c.close();
  }
});

Deno.test("Collector.collect against a real server", async (t) => {
  await using cluster = await startCluster({ name: "cycle", preload: ["pg_stat_statements"] });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("shop");
  await cluster.sql("shop").unsafe("/* shop_statement */ SELECT pg_sleep(0.02)");
  const [facts] = await cluster.sql()`SELECT current_setting('server_version') AS sv,
    current_setting('server_version_num')::int AS num`;
  const base: Config = {
    ...defaultConfig(),
    username: "postgres",
    password: cluster.password,
    hostname: cluster.host,
    port: String(cluster.port),
    session: { applicationName: "pgql-cycle-test", statementTimeoutMs: 5000, lockTimeoutMs: 1000 },
    activitySampling: { samples: 1, intervalMs: 10 },
  };

  await t.step("QPM off: the instance version only, sessions reused across cycles", async () => {
    const { c, lines } = collector(base);
    const sessions = async () =>
      (await cluster.sql()`SELECT pid FROM pg_stat_activity WHERE application_name = 'pgql-cycle-test'`)
        .map((r) => r.pid);
    try {
      const snap = await c.collect();
      assert.equal(snap.instance.serverVersionNum, facts.num);
      assert.equal(snap.instance.majorVersion, Math.floor(facts.num / 10000));
      assert.equal(snap.instance.serverVersion, facts.sv);
      assert.deepEqual(snap.issues, []);
      assert.deepEqual(lines, []);
      assert.deepEqual([snap.slowQueries, snap.blockingSessions, snap.individualQueries], [[], [], []]);
      const first = await sessions();
      assert.equal(first.length, 1);
      await c.collect();
      assert.deepEqual(await sessions(), first);
    } finally {
      await c.close();
    }
    for (let i = 0; (await sessions()).length > 0; i++) {
      assert.ok(i < 100, "close() leaves sessions open");
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  await t.step("stats_reset times are read in the OTLP modes only", async () => {
    await cluster.sql("shop").unsafe("SELECT pg_stat_reset()");
    const [{ reset }] = await cluster.sql()`SELECT stats_reset AS reset FROM pg_stat_database
      WHERE datname = 'shop'`;
    for (const mode of ["nri", "otel", "hybrid"] as const) {
      const { c } = collector({ ...base, mode, collectionList: "ALL" });
      try {
        const snap = await c.collect();
        if (mode === "nri") {
          assert.equal(snap.statsResets, undefined);
          continue;
        }
        assert.ok(snap.statsResets?.instance instanceof Date, mode);
        assert.ok(reset instanceof Date);
        assert.equal(snap.statsResets!.databases.get("shop")?.getTime(), reset.getTime());
      } finally {
        await c.close();
      }
    }
  });

  await t.step("a wrong password is a connection issue that does not leak it", async () => {
    const { c } = collector({ ...base, password: "wrong-secret-pw" });
    try {
      const snap = await c.collect();
      assert.equal(snap.issues.length, 1);
      assert.equal(snap.issues[0].component, "connection");
      assert.match(snap.issues[0].message, /password authentication failed for user "postgres"/);
      assert.ok(!JSON.stringify(snap.issues).includes("wrong-secret-pw"));
    } finally {
      await c.close();
    }
  });

  await t.step("QPM on with no database left to collect: a warning", async () => {
    for (
      const over of [{ collectionList: "[]" }, {
        collectionList: '["shop"]',
        collectionIgnoreDatabaseList: ["shop"],
      }]
    ) {
      const { c } = collector({ ...base, enableQueryMonitoring: true, ...over });
      try {
        const snap = await c.collect();
        assert.deepEqual(snap.issues.map((i) => [i.component, i.cause, i.severity]), [[
          "qpm",
          "no_databases",
          "warning",
        ]]);
        assert.equal(snap.instance.serverVersionNum, facts.num);
      } finally {
        await c.close();
      }
    }
  });

  await t.step("QPM on with ALL: statements of every database", async () => {
    const { c } = collector({ ...base, enableQueryMonitoring: true, collectionList: "ALL" });
    try {
      const snap = await c.collect();
      assert.deepEqual(snap.issues.filter((i) => i.severity === "error"), []);
      assert.ok(
        snap.slowQueries.some((s) => s.databaseName === "shop" && s.queryText.includes("shop_statement")),
      );
      assert.ok(snap.slowQueries.some((s) => s.databaseName === "postgres"));
    } finally {
      await c.close();
    }
  });
});
