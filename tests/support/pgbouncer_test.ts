import assert from "node:assert/strict";
import postgres from "postgres";
import { type Cluster, startCluster } from "./cluster.ts";
import { type PgBouncer, pgbouncerIni, type PgBouncerOptions, startPgBouncer } from "./pgbouncer.ts";

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** The error of a start that must fail; a PgBouncer that starts anyway is stopped and the test fails. */
async function startFailure(cluster: Cluster, opts: PgBouncerOptions): Promise<Error> {
  let started: PgBouncer;
  try {
    started = await startPgBouncer(cluster, opts);
  } catch (e) {
    return e as Error;
  }
  await started.stop();
  assert.fail(`PgBouncer started with ${JSON.stringify(opts)}`);
}

Deno.test("pgbouncer harness: bad options are refused before anything starts", async () => {
  await using cluster = await startCluster({ name: "bouncer-opts" });
  const ini = (opts: Parameters<typeof pgbouncerIni>[3]) => pgbouncerIni(cluster, "/x", 1, opts);
  assert.throws(() => ini({ databases: ["bad name"] }), /invalid database name "bad name"/);
  assert.throws(() => ini({ databases: [] }), /at least one database/);
  assert.throws(() => ini({ databases: ["pgbouncer"] }), /admin console/);
  assert.throws(() => ini({ poolMode: "nested" as never }), /invalid pool mode "nested"/);
  assert.throws(() => ini({ adminUsers: ["x;y"] }), /invalid admin user name/);
  assert.throws(() => ini({ settings: { "a b": "1" } }), /invalid PgBouncer setting/);
  assert.throws(() => ini({ settings: { verbose: "1\n[databases]" } }), /invalid PgBouncer setting/);
  await assert.rejects(startPgBouncer(cluster, { databases: ["no/slash"] }), /invalid database name/);
  const text = ini({ databases: ["postgres", "shop"] });
  assert.match(text, new RegExp(`^shop = host=127\\.0\\.0\\.1 port=${cluster.port} dbname=shop$`, "m"));
  assert.match(text, /^pool_mode = transaction$/m);
  assert.match(text, /^admin_users = postgres$/m);
  assert.match(text, /^auth_type = scram-sha-256$/m);
});

Deno.test("pgbouncer harness: a real PgBouncer in transaction pooling in front of the cluster", async (t) => {
  await using cluster = await startCluster({ name: "bouncer" });
  await cluster.createDatabase("shop");
  const bouncer = await startPgBouncer(cluster, { databases: ["postgres", "shop"] });
  try {
    await t.step("version, pool mode and admin console", async () => {
      assert.match(bouncer.version, /^1\.\d+/);
      assert.notEqual(bouncer.port, cluster.port);
      const config = await bouncer.admin().unsafe("SHOW CONFIG");
      const setting = (key: string) => config.find((r) => r.key === key)?.value;
      assert.equal(setting("pool_mode"), "transaction");
      assert.equal(setting("admin_users"), "postgres");
      const pools = await bouncer.admin().unsafe("SHOW POOLS");
      assert.ok(pools.some((r) => r.database === "pgbouncer"), "the admin console answers SHOW POOLS");
    });

    await t.step("statements reach the cluster through PgBouncer", async () => {
      const [row] = await bouncer.sql("shop").unsafe(
        "SELECT current_database() AS db, inet_server_port() AS port, current_user AS who",
      );
      assert.deepEqual([row.db, row.port, row.who], ["shop", cluster.port, "postgres"]);
      const seen = await cluster.sql()`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = 'shop' AND client_addr IS NOT NULL`;
      assert.ok(seen[0].n >= 1, "PgBouncer holds a server connection to shop");
    });

    await t.step("a wrong password is refused", async () => {
      const wrong = postgres({
        host: bouncer.host,
        port: bouncer.port,
        user: "postgres",
        password: "wrong",
        database: "shop",
        max: 1,
        fetch_types: false,
        onnotice: () => {},
      });
      try {
        await assert.rejects(
          wrong.unsafe("SELECT 1"),
          /password authentication failed|SASL authentication failed/,
        );
      } finally {
        await wrong.end({ timeout: 0 });
      }
    });

    await t.step("syncUsers() admits a role created later; it is no admin", async () => {
      await cluster.createRole("app", "app-secret");
      const app = (database: string) =>
        postgres({
          host: bouncer.host,
          port: bouncer.port,
          user: "app",
          password: "app-secret",
          database,
          max: 1,
          prepare: false,
          fetch_types: false,
          onnotice: () => {},
        });
      const before = app("shop");
      try {
        await assert.rejects(before.unsafe("SELECT 1"));
      } finally {
        await before.end({ timeout: 0 });
      }
      await bouncer.syncUsers();
      const after = app("shop");
      const adminConsole = app("pgbouncer");
      try {
        assert.equal((await after.unsafe("SELECT current_user AS u"))[0].u, "app");
        await assert.rejects(adminConsole.unsafe("SHOW STATS"), /not allowed/);
      } finally {
        await Promise.all([after.end({ timeout: 0 }), adminConsole.end({ timeout: 0 })]);
      }
    });
  } finally {
    const dir = bouncer.dir;
    const port = bouncer.port;
    await bouncer.stop();
    await bouncer.stop(); // a second stop is harmless
    assert.equal(await exists(dir), false, "stop() removes the directory");
    assert.equal(await listening(port), false, "stop() ends the process");
    assert.throws(() => bouncer.sql(), /stopped/);
  }
});

Deno.test("pgbouncer harness: a start failure names the cause, shows the log and leaves nothing", async () => {
  await using cluster = await startCluster({ name: "bouncer-fail" });
  const err = await startFailure(cluster, { settings: { auth_type: "bogus" } });
  assert.match(err.message, /PgBouncer did not start/);
  assert.match(err.message, /--- pgbouncer log ---/);
  assert.match(err.message, /invalid value "bogus" for parameter auth_type/);
  const dir = /\(in ([^)]+)\)/.exec(err.message)?.[1];
  assert.ok(dir, "the message names the directory");
  assert.equal(await exists(dir), false, "the directory is removed");

  // A taken port is reported at once, not after the start timeout.
  await using first = await startPgBouncer(cluster);
  const t0 = performance.now();
  const taken = await startFailure(cluster, { settings: { listen_port: String(first.port) } });
  assert.match(taken.message, new RegExp(`did not start on port ${first.port}[^]*Address already in use`));
  assert.ok(performance.now() - t0 < 10_000, "failed fast");
});
