import assert from "node:assert/strict";
import { startCluster } from "./cluster.ts";
import { clusterConnections, qpmContext } from "./qpm.ts";
import { defaultConfig } from "../../src/config/defaults.ts";
import { StatementTextCache } from "../../src/collectors/qpm/statement_texts.ts";

Deno.test("clusterConnections and qpmContext on PostgreSQL 15", async (t) => {
  await using cluster = await startCluster({ name: "qpmsupport", preload: ["pg_stat_statements"] });
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("shop");
  const cm = clusterConnections(cluster);
  const named = clusterConnections(cluster, {
    session: { applicationName: "qpm-support-test", statementTimeoutMs: 1234, lockTimeoutMs: 567 },
  });
  try {
    await t.step("the manager's session is the superuser on the cluster's port", async () => {
      const [me] = await cm.sql("shop").unsafe(
        `SELECT current_user AS role, current_database() AS db, inet_server_port() AS port,
          current_setting('application_name') AS app, current_setting('is_superuser') AS su`,
      );
      assert.deepEqual(me, {
        role: "postgres",
        db: "shop",
        port: cluster.port,
        app: defaultConfig().session.applicationName,
        su: "on",
      });
    });

    await t.step("overrides replace the connection settings", async () => {
      const [s] = await named.sql("postgres").unsafe(
        `SELECT current_user AS role, current_setting('application_name') AS app,
          current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt`,
      );
      assert.deepEqual(s, { role: "postgres", app: "qpm-support-test", st: "1234ms", lt: "567ms" });
      const wrong = clusterConnections(cluster, { password: `${cluster.password}x`, timeout: 5 });
      try {
        await assert.rejects(wrong.sql("postgres").unsafe("SELECT 1"), /password authentication failed/);
      } finally {
        await wrong.close();
      }
    });

    await t.step("the context's defaults and capabilities match the server", async () => {
      const { ctx, issues } = await qpmContext(cm, "postgres");
      const [server] = await cluster.sql().unsafe(
        `SELECT current_setting('server_version') AS version, pg_backend_pid() AS pid,
          (SELECT setting::int FROM pg_settings WHERE name = 'track_activity_query_size') AS size`,
      );
      assert.equal(ctx.caps.serverVersion, server.version);
      assert.equal(ctx.caps.version.major, cluster.major);
      assert.equal(ctx.caps.role, "postgres");
      assert.equal(ctx.caps.superuser, true);
      assert.equal(ctx.caps.trackActivityQuerySize, server.size);
      assert.ok(ctx.caps.extensions.has("pg_stat_statements"));
      assert.notEqual(ctx.caps.backendPid, server.pid, "probed on the manager's session");
      const [{ pid }] = await ctx.sql.unsafe("SELECT pg_backend_pid() AS pid");
      assert.equal(ctx.caps.backendPid, pid);
      assert.deepEqual(ctx.databases, ["shop"]);
      assert.equal(ctx.countThreshold, 20);
      assert.equal(ctx.responseTimeThresholdMs, 1);
      assert.deepEqual(ctx.config, defaultConfig());
      assert.ok(ctx.texts instanceof StatementTextCache);
      assert.deepEqual(issues, []);

      const shop = await qpmContext(cm, "shop");
      assert.equal(shop.ctx.caps.extensions.has("pg_stat_statements"), false, "probed in its own database");
      const [{ db }] = await shop.ctx.sql.unsafe("SELECT current_database() AS db");
      assert.equal(db, "shop");
    });

    await t.step("fields of over win", async () => {
      const texts = new StatementTextCache();
      const { ctx } = await qpmContext(cm, "postgres", {
        databases: ["postgres", "shop"],
        countThreshold: 30,
        responseTimeThresholdMs: 250,
        texts,
      });
      assert.deepEqual(ctx.databases, ["postgres", "shop"]);
      assert.equal(ctx.countThreshold, 30);
      assert.equal(ctx.responseTimeThresholdMs, 250);
      assert.equal(ctx.texts, texts);
      const seen: string[] = [];
      const own = await qpmContext(cm, "postgres", { report: (i) => seen.push(i.cause) });
      own.ctx.report({ component: "test", cause: "own", message: "m", severity: "debug" });
      assert.deepEqual(seen, ["own"]);
      assert.deepEqual(own.issues, [], "a replaced report bypasses issues");
    });

    await t.step("reported issues land in issues, each context with its own list", async () => {
      const a = await qpmContext(cm, "postgres");
      const b = await qpmContext(cm, "postgres");
      const first = { component: "qpm.test", cause: "one", message: "first", severity: "warning" } as const;
      const second = { component: "qpm.test", cause: "two", message: "second", severity: "error" } as const;
      a.ctx.report(first);
      a.ctx.report(second);
      assert.deepEqual(a.issues, [first, second]);
      assert.deepEqual(b.issues, []);
      assert.notEqual(a.ctx.texts, b.ctx.texts, "each context gets a fresh text cache");
    });
  } finally {
    await cm.close();
    await named.close();
  }
});
