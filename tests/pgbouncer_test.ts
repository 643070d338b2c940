/**
 * PgBouncerSample against a real PgBouncer (Debian's package, 1.18 on this machine) in transaction
 * pooling in front of a throwaway cluster: known traffic goes through PgBouncer, then the collector
 * reads `SHOW STATS` and `SHOW POOLS` on the admin console through the connection layer.
 *
 * Only PgBouncer 1.18 is installed, so only its column set is exercised here; the column sets of
 * earlier versions (before 1.8, 1.16–1.17) and later ones (1.23, 1.24) are shown with rows shaped as
 * those versions return them in `src/collectors/pgbouncer/samples_test.ts`.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { startCluster } from "./support/cluster.ts";
import { startPgBouncer } from "./support/pgbouncer.ts";
import { waitUntil } from "./support/workload.ts";
import { defaultConfig } from "../src/config/defaults.ts";
import type { BaseSample, CollectionIssue } from "../src/core/model.ts";
import { ConnectionManager, PGBOUNCER_CONSOLE } from "../src/query_engine/connection.ts";
import { collectPgBouncerSamples } from "../src/collectors/pgbouncer/collect.ts";
import { pgbouncerMetricsFor } from "../src/collectors/pgbouncer/catalog.ts";
import { clusterEnv, metricSetsByType, runCollectorProcess } from "./support/collector.ts";
import { assertValidDocuments } from "./support/schema.ts";

/** Transactions of four statements each (BEGIN, INSERT, SELECT, COMMIT) sent through PgBouncer. */
const TRANSACTIONS = 30;
/** Single autocommit statements sent through PgBouncer. */
const SINGLE_STATEMENTS = 40;

const valueOf = (s: BaseSample | undefined, name: string) => s?.metrics.find((m) => m.name === name)?.value;
const statsOf = (samples: BaseSample[], db: string) =>
  samples.find((s) => s.entity.name === db && s.metrics.some((m) => m.name.startsWith("pgbouncer.stats.")));
const poolsOf = (samples: BaseSample[], db: string) =>
  samples.filter((s) => s.entity.name === db && s.metrics.some((m) => m.name === "pgbouncer.pools.user"));

Deno.test("PgBouncerSample from a real PgBouncer in transaction pooling", async (t) => {
  await using cluster = await startCluster({ name: "pgbouncer" });
  await cluster.createDatabase("shop");
  await cluster.sql("shop").unsafe("CREATE TABLE orders (id serial PRIMARY KEY, amount int NOT NULL)");
  await cluster.createRole("app", "app-secret");
  await cluster.sql("shop").unsafe("GRANT ALL ON orders, orders_id_seq TO app");
  await using bouncer = await startPgBouncer(cluster, { databases: ["postgres", "shop"] });
  assert.match(bouncer.version, /^1\.18\./, "this test pins the 1.18 column set");

  const issues: CollectionIssue[] = [];
  const cm = new ConnectionManager(
    {
      ...defaultConfig(),
      username: cluster.superuser,
      password: cluster.password,
      hostname: bouncer.host,
      port: String(bouncer.port),
    },
    { report: (i) => issues.push(i) },
  );
  const host = bouncer.host;
  const port = String(bouncer.port);
  const adminConsole = cm.sql("pgbouncer", PGBOUNCER_CONSOLE);
  try {
    const before = await collectPgBouncerSamples(adminConsole, host, port);

    await t.step("STATS: counters of shop grew by at least the traffic sent", async () => {
      const client = bouncer.sql("shop");
      for (let i = 0; i < TRANSACTIONS; i++) {
        await client.begin(async (tx) => {
          await tx.unsafe("INSERT INTO orders (amount) VALUES ($1)", [i]);
          await tx.unsafe("SELECT count(*) FROM orders");
        });
      }
      for (let i = 0; i < SINGLE_STATEMENTS; i++) await client.unsafe("SELECT 1");
      const wantXacts = TRANSACTIONS + SINGLE_STATEMENTS;
      const wantQueries = 4 * TRANSACTIONS + SINGLE_STATEMENTS;
      const base = statsOf(before, "shop");
      const start = (name: string) => Number(valueOf(base, name) ?? 0);
      let after: BaseSample | undefined;
      await waitUntil("PgBouncer counts the traffic", async () => {
        after = statsOf(await collectPgBouncerSamples(adminConsole, host, port), "shop");
        const grown = (name: string) => Number(valueOf(after, name) ?? 0) - start(name);
        return grown("pgbouncer.stats.transactionsPerSecond") >= wantXacts &&
          grown("pgbouncer.stats.queriesPerSecond") >= wantQueries;
      }, 5000);
      const grown = (name: string) => Number(valueOf(after, name)) - start(name);
      assert.ok(grown("pgbouncer.stats.bytesInPerSecond") > 0);
      assert.ok(grown("pgbouncer.stats.bytesOutPerSecond") > 0);
      assert.ok(grown("pgbouncer.stats.totalQueryDurationInMillisecondsPerSecond") > 0);
      assert.ok(grown("pgbouncer.stats.totalTransactionDurationInMillisecondsPerSecond") > 0);
      // Every metric of the 1.18 column set, named and typed as the catalog says; none of other versions.
      const expected = pgbouncerMetricsFor("stats").filter((m) =>
        !["total_requests", "avg_req", "total_server_assignment_count", "avg_server_assignment_count"]
          .includes(m.columns[0])
      );
      assert.deepEqual(
        after!.metrics.map((m) => [m.name, m.sourceType, typeof m.value]),
        [
          ["displayName", "attribute", "string"],
          ["entityName", "attribute", "string"],
          ["host", "attribute", "string"],
          ...expected.map((m) => [m.name, m.sourceType, "number"]),
        ],
      );
      assert.deepEqual(after!.metrics.slice(0, 3).map((m) => m.value), ["shop", "pgbouncer:shop", host]);
      assert.equal(after!.eventType, "PgBouncerSample");
      assert.deepEqual(after!.entity, {
        name: "shop",
        type: "pgbouncer",
        idAttributes: [{ key: "host", value: host }, { key: "port", value: port }],
      });
    });

    await t.step("POOLS: one sample per database and user, with the 1.18 columns", async () => {
      await bouncer.syncUsers();
      const appClient = postgres({
        host: bouncer.host,
        port: bouncer.port,
        user: "app",
        password: "app-secret",
        database: "shop",
        max: 1,
        prepare: false,
        fetch_types: false,
        onnotice: () => {},
      });
      try {
        await appClient.unsafe("INSERT INTO orders (amount) VALUES (1)");
        const samples = await collectPgBouncerSamples(adminConsole, host, port);
        const pools = poolsOf(samples, "shop");
        const users = pools.map((s) => valueOf(s, "pgbouncer.pools.user")).sort();
        assert.deepEqual(users, ["app", "postgres"]);
        const expected = pgbouncerMetricsFor("pools").filter((m) => m.columns[0] !== "cl_cancel_req");
        for (const pool of pools) {
          assert.equal(pool.eventType, "PgBouncerSample");
          assert.deepEqual(pool.metrics.map((m) => [m.name, m.sourceType]), [
            ["displayName", "attribute"],
            ["entityName", "attribute"],
            ["host", "attribute"],
            ...expected.map((m) => [m.name, m.sourceType]),
          ]);
          // Each pool has its clients logged in and idle between transactions.
          assert.ok(Number(valueOf(pool, "pgbouncer.pools.clientConnectionsActive")) >= 1);
          assert.equal(valueOf(pool, "pgbouncer.pools.clientConnectionsWaiting"), 0);
          const servers = ["serverConnectionsActive", "serverConnectionsIdle", "serverConnectionsUsed"]
            .map((n) => Number(valueOf(pool, `pgbouncer.pools.${n}`)));
          assert.ok(servers.reduce((a, b) => a + b) >= 1, `a server connection was opened: ${servers}`);
        }
        // The admin console's own pseudo-database is reported too, as nri-postgresql does.
        assert.ok(statsOf(samples, "pgbouncer"), "STATS row of the admin console");
        assert.deepEqual(poolsOf(samples, "pgbouncer").map((s) => valueOf(s, "pgbouncer.pools.user")), [
          "pgbouncer",
        ]);
        // STATS samples come first, then POOLS.
        const isPool = samples.map((s) => s.metrics.some((m) => m.name === "pgbouncer.pools.user"));
        assert.ok(isPool.indexOf(true) > 0 && isPool.lastIndexOf(false) < isPool.indexOf(true));
      } finally {
        await appClient.end({ timeout: 0 });
      }
    });

    await t.step("an ordinary session through PgBouncer runs despite the timeouts", async () => {
      const [row] = await cm.sql("shop").unsafe("SELECT count(*)::int AS n FROM orders");
      assert.equal(row.n, TRANSACTIONS + 1);
      assert.deepEqual(issues.map((i) => i.cause), ["startup_parameters_refused"]);
    });

    await t.step(
      "the collector process, PORT = PgBouncer's with PGBOUNCER=true: all base samples",
      async () => {
        const env = {
          ...clusterEnv(cluster, cluster.superuser, cluster.password),
          PORT: port,
          PGBOUNCER: "true",
          COLLECTION_LIST: '["shop"]',
          TEMP_DIR: `/tmp/pgquerylens/test-pgbouncer-${crypto.randomUUID()}`,
        };
        try {
          const run = await runCollectorProcess([], env);
          assert.equal(run.code, 0, run.stderr);
          assertValidDocuments(run.stdout);
          const sets = metricSetsByType(run.stdout);
          for (
            const type of ["PostgresqlInstanceSample", "PostgresqlDatabaseSample", "PostgresqlTableSample"]
          ) {
            assert.ok(sets.get(type)?.length, `${type} through PgBouncer\n${run.stderr}`);
          }
          const bouncerSets = sets.get("PgBouncerSample") ?? [];
          assert.ok(
            bouncerSets.some((b) => b.displayName === "shop" && "pgbouncer.stats.queriesPerSecond" in b),
          );
          assert.ok(
            bouncerSets.some((b) => b.displayName === "shop" && b["pgbouncer.pools.user"] === "postgres"),
          );
          assert.equal(run.stderr.match(/startup parameter/g)?.length, 1, run.stderr);

          const admin = await runCollectorProcess([], { ...env, DATABASE: "pgbouncer" });
          assert.equal(admin.code, 0, admin.stderr);
          assertValidDocuments(admin.stdout);
          const adminSets = metricSetsByType(admin.stdout);
          assert.deepEqual([...adminSets.keys()], ["PgBouncerSample"], "admin console: PgBouncer only");
          assert.ok(adminSets.get("PgBouncerSample")!.some((b) => b.displayName === "shop"));
          assert.doesNotMatch(admin.stderr, /"level":"(error|warn)"/, admin.stderr);

          const noFlag = await runCollectorProcess([], { ...env, DATABASE: "pgbouncer", PGBOUNCER: "false" });
          assert.equal(noFlag.code, 0, noFlag.stderr);
          assert.match(noFlag.stderr, /set PGBOUNCER=true to collect PgBouncerSample/);
        } finally {
          await Deno.remove(env.TEMP_DIR, { recursive: true }).catch(() => {});
        }
      },
    );

    await t.step("each command fails alone; without a report sink the failure is thrown", async () => {
      // An ordinary database session knows neither command.
      const notConsole = cm.sql("postgres");
      const reported: CollectionIssue[] = [];
      assert.deepEqual(await collectPgBouncerSamples(notConsole, host, port, (i) => reported.push(i)), []);
      assert.deepEqual(reported.map((i) => [i.component, i.severity]), [
        ["pgbouncer.stats", "error"],
        ["pgbouncer.pools", "error"],
      ]);
      assert.match(
        reported[0].message,
        new RegExp(`SHOW STATS on the PgBouncer admin console at ${host}:${port}`),
      );
      await assert.rejects(collectPgBouncerSamples(notConsole, host, port), /SHOW STATS .* failed/);
      await assert.rejects(collectPgBouncerSamples(adminConsole, "", port), /host must not be empty/);
    });
  } finally {
    await cm.close();
  }
});
