import assert from "node:assert/strict";
import postgres from "postgres";
import { defaultConfig } from "../config/defaults.ts";
import { type Cluster, startCluster } from "../../tests/support/cluster.ts";
import {
  type ConnectionConfig,
  ConnectionManager,
  connectionOptions,
  isStartupParameterRefusal,
  PGBOUNCER_CONSOLE,
  reconnectBackoff,
} from "./connection.ts";
import type { CollectionIssue } from "../core/model.ts";
import { waitUntil } from "../../tests/support/workload.ts";
import { startPgBouncer } from "../../tests/support/pgbouncer.ts";

const SESSION = { applicationName: "pgql-conn-test", statementTimeoutMs: 1500, lockTimeoutMs: 700 };

/** Options postgres.js fills from `PG<NAME>` variables when they are not given. */
const DRIVER_DEFAULTED = ("max ssl sslnegotiation idle_timeout connect_timeout max_lifetime max_pipeline " +
  "backoff keep_alive prepare debug fetch_types publications target_session_attrs").split(" ");

/** Variables that would misdirect or reconfigure a session that left its options to the driver. */
const HOSTILE_ENV = "PGHOST=192.0.2.1 PGPORT=1 PGUSER=nobody PGUSERNAME=nobody PGDATABASE=nope " +
  "PGPASSWORD=wrong PGAPPNAME=hijacked PGSSL=require PGMAX_LIFETIME=0.05 PGIDLE_TIMEOUT=0.05 PGDEBUG=true";

function config(overrides: Partial<ConnectionConfig> = {}): ConnectionConfig {
  return { ...defaultConfig(), username: "u", password: "p", session: SESSION, ...overrides };
}

function clusterConfig(cluster: Cluster): ConnectionConfig {
  return config({
    username: "postgres",
    password: cluster.password,
    hostname: cluster.host,
    port: String(cluster.port),
  });
}

/** A reader that records the paths it is asked for and returns a marker per path. */
function recordingReader(): { read: (path: string) => string; paths: string[] } {
  const paths: string[] = [];
  return { paths, read: (path) => (paths.push(path), `PEM(${path})`) };
}

Deno.test("connectionOptions: TLS modes come from the configuration", () => {
  const r = recordingReader();
  const tls = (over: Partial<ConnectionConfig>) =>
    connectionOptions(config({ enableSsl: true, ...over }), "db", r.read).ssl;
  assert.equal(tls({ enableSsl: false, sslRootCertLocation: "/ca" }), false);
  assert.deepEqual(tls({ trustServerCertificate: true, sslRootCertLocation: "/ca" }), {
    rejectUnauthorized: false,
  });
  assert.deepEqual(r.paths, [], "neither TLS off nor trust mode reads a file");
  assert.deepEqual(tls({ sslRootCertLocation: "/ca", sslCertLocation: "/c", sslKeyLocation: "/k" }), {
    rejectUnauthorized: true,
    ca: "PEM(/ca)",
    cert: "PEM(/c)",
    key: "PEM(/k)",
  });
  assert.deepEqual(r.paths, ["/ca", "/c", "/k"]);
  assert.deepEqual(tls({ sslRootCertLocation: "/ca" }), { rejectUnauthorized: true, ca: "PEM(/ca)" });
});

Deno.test("connectionOptions: an unreadable root certificate fails naming the file", () => {
  const missing = "/nonexistent-pgql-test/ca.pem";
  assert.throws(
    () => connectionOptions(config({ enableSsl: true, sslRootCertLocation: missing }), "db"),
    (e: Error) => e.message.includes(missing),
  );
});

Deno.test("connectionOptions: session parameters, target and explicit driver settings", () => {
  const o = connectionOptions(config({ hostname: "db.example", port: "6543", timeout: 7 }), "shop");
  assert.deepEqual(o.connection, {
    application_name: "pgql-conn-test",
    statement_timeout: 1500,
    lock_timeout: 700,
  });
  assert.deepEqual(
    [o.host, o.port, o.database, o.username, o.password, o.connect_timeout],
    ["db.example", 6543, "shop", "u", "p", 7],
  );
  assert.equal(connectionOptions(config({ timeout: 0 }), "shop").connect_timeout, 0);
  // Each option the driver would otherwise default from a PG<NAME> variable is present.
  for (const key of DRIVER_DEFAULTED) assert.ok(key in o, `option ${key} is given explicitly`);
});

Deno.test("connectionOptions: without timeouts the login sends application_name only", () => {
  const o = connectionOptions(config(), "shop", undefined, { timeouts: false });
  assert.deepEqual(o.connection, { application_name: "pgql-conn-test" });
  assert.deepEqual(connectionOptions(config(), "shop", undefined, { timeouts: true }).connection, {
    application_name: "pgql-conn-test",
    statement_timeout: 1500,
    lock_timeout: 700,
  });
});

Deno.test("reconnectBackoff grows and is capped at 20 s", () => {
  for (let r = 0; r < 12; r++) {
    const b = reconnectBackoff(r);
    const base = Math.min(3 ** r / 100, 20);
    assert.ok(b >= base * 0.5 && b <= base, `retry ${r}: ${b}`);
  }
  assert.ok(reconnectBackoff(30) <= 20);
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "ok", "error: <message>", or "hung" when `p` has not settled after `ms`. */
function within(p: Promise<unknown>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = p.then(() => "ok", (e: Error) => `error: ${e.message}`);
  const hung = new Promise<string>((r) => timer = setTimeout(() => r("hung"), ms));
  return Promise.race([settled, hung]).finally(() => clearTimeout(timer));
}

Deno.test("ConnectionManager on a real server", async (t) => {
  await using cluster = await startCluster({ name: "conn" });
  await cluster.createDatabase("other");
  const admin = cluster.sql();
  await admin.unsafe("CREATE TABLE locked (id int)");
  const settingsOf = async (sql: ReturnType<ConnectionManager["sql"]>) =>
    (await sql.unsafe(`SELECT current_setting('application_name') AS app, pg_backend_pid() AS pid,
       (SELECT setting FROM pg_settings WHERE name = 'statement_timeout') AS st,
       (SELECT setting FROM pg_settings WHERE name = 'lock_timeout') AS lt`))[0];
  const poll = (what: string, done: () => Promise<boolean>) => waitUntil(what, done, 2000);

  await t.step("PG* variables of the environment do not redirect or reconfigure the session", async () => {
    const hostile = Object.fromEntries(HOSTILE_ENV.split(" ").map((kv) => kv.split("=") as [string, string]));
    const saved = Object.fromEntries(Object.keys(hostile).map((k) => [k, Deno.env.get(k)]));
    for (const [k, v] of Object.entries(hostile)) Deno.env.set(k, v);
    const cm = new ConnectionManager(clusterConfig(cluster));
    const bare = postgres({ max: 1, onnotice: () => {} });
    try {
      // The driver does read these variables when options leave them out.
      assert.equal(bare.options.connection.application_name, "hijacked");
      assert.equal(bare.options.max_lifetime, 0.05);
      const sql = cm.sql("postgres");
      const first = await settingsOf(sql);
      assert.deepEqual([first.app, first.st, first.lt], ["pgql-conn-test", "1500", "700"]);
      const [{ ssl }] = await sql.unsafe("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
      assert.equal(ssl, false);
      await pause(150);
      assert.equal((await settingsOf(sql)).pid, first.pid, "no idle or lifetime recycling");
    } finally {
      for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      await Promise.all([cm.close(), bare.end({ timeout: 0 })]);
    }
  });

  const cm = new ConnectionManager(clusterConfig(cluster));
  try {
    await t.step("statement_timeout cancels a long statement; lock_timeout ends a lock wait", async () => {
      const sql = cm.sql("postgres");
      const t0 = performance.now();
      await assert.rejects(sql.unsafe("SELECT pg_sleep(10)"), (e: { code?: string }) => e.code === "57014");
      const took = performance.now() - t0;
      assert.ok(took >= 1400 && took < 5000, `cancelled after ${took} ms`);
      const holder = await admin.reserve();
      try {
        await holder.unsafe("BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE");
        await assert.rejects(
          sql.unsafe("SELECT * FROM locked"),
          (e: { code?: string }) => e.code === "55P03",
        );
      } finally {
        await holder.unsafe("ROLLBACK");
        holder.release();
      }
    });

    await t.step("one client per (database, purpose), each its own session", async () => {
      const main = cm.sql("postgres");
      const sampler = cm.sql("postgres", "sampler");
      const other = cm.sql("other");
      assert.deepEqual([cm.sql("postgres"), cm.sql("postgres", "main")], [main, main]);
      assert.equal(cm.sql("postgres", "sampler"), sampler);
      assert.ok(sampler !== main && other !== main && other !== sampler);
      const rows = await Promise.all(
        [main, sampler, other].map(async (s) =>
          (await s.unsafe("SELECT pg_backend_pid() AS pid, current_database() AS db"))[0]
        ),
      );
      assert.equal(new Set(rows.map((r) => r.pid)).size, 3);
      assert.deepEqual(rows.map((r) => r.db), ["postgres", "postgres", "other"]);
      assert.equal((await settingsOf(sampler)).app, "pgql-conn-test");
      assert.equal((await settingsOf(other)).st, "1500");
    });

    await t.step(
      "after its backend is terminated, the session reconnects with the same settings",
      async () => {
        const sql = cm.sql("postgres");
        const before = await settingsOf(sql);
        await admin`SELECT pg_terminate_backend(${before.pid})`;
        await poll(
          "the backend is gone",
          async () => (await admin`SELECT 1 FROM pg_stat_activity WHERE pid = ${before.pid}`).length === 0,
        );
        await pause(300);
        const after = await settingsOf(sql);
        assert.notEqual(after.pid, before.pid);
        assert.deepEqual([after.app, after.st, after.lt], [before.app, before.st, before.lt]);
      },
    );

    await t.step(
      "a statement racing the termination of its backend never leaves the client hung",
      async () => {
        // A statement sent right after pg_terminate_backend may fail; the collector then goes on with
        // its next statement at once (each collector fails alone). That one may fail too, but it must
        // settle, and a later one must succeed on a new session.
        for (let round = 0; round < 6; round++) {
          const sql = cm.sql("postgres", `race${round}`);
          await admin`SELECT pg_terminate_backend(${(await settingsOf(sql)).pid})`;
          const racing = await within(sql.unsafe("SELECT 1"), 3000);
          const next = await within(sql.unsafe("SELECT 2"), 3000);
          await pause(300);
          const later = await within(sql.unsafe("SELECT 3"), 3000);
          const story = `round ${round}: racing "${racing}", next "${next}", later "${later}"`;
          assert.notEqual(next, "hung", story);
          assert.equal(later, "ok", story);
        }
      },
    );

    await t.step("close() ends every session and later calls get fresh clients", async () => {
      const old = cm.sql("postgres");
      const count = async () =>
        (await admin`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pgql-conn-test'`)[
          0
        ]
          .n as number;
      assert.ok(await count() >= 3);
      await cm.close();
      await poll("every session is closed", async () => (await count()) === 0);
      await assert.rejects(old.unsafe("SELECT 1"));
      const fresh = cm.sql("postgres");
      assert.notEqual(fresh, old);
      assert.equal((await settingsOf(fresh)).app, "pgql-conn-test");
    });
  } finally {
    await cm.close();
  }
});

Deno.test("ConnectionManager through PgBouncer (its port as PORT) and on its admin console", async (t) => {
  await using cluster = await startCluster({ name: "conn-bouncer" });
  await cluster.createDatabase("shop");
  await using bouncer = await startPgBouncer(cluster, { databases: ["postgres", "shop"] });
  const admin = cluster.sql();
  const viaBouncer = (): ConnectionConfig => ({ ...clusterConfig(cluster), port: String(bouncer.port) });
  const issues: CollectionIssue[] = [];
  const cm = new ConnectionManager(viaBouncer(), { report: (i) => issues.push(i) });
  try {
    await t.step("a refused login is retried without the timeouts and reported once", async () => {
      assert.equal(cm.sendsTimeouts, true);
      const shop = cm.sql("shop");
      const rows = await Promise.all([
        shop.unsafe("SELECT current_database() AS db, current_setting('application_name') AS app"),
        shop.unsafe("SELECT 2 AS n"),
        cm.sql("postgres").unsafe("SELECT current_database() AS db"),
      ]);
      assert.deepEqual([rows[0][0].db, rows[0][0].app], ["shop", "pgql-conn-test"]);
      assert.equal(rows[1][0].n, 2);
      assert.equal(rows[2][0].db, "postgres");
      assert.equal(cm.sendsTimeouts, false);
      await cm.sql("shop", "sampler").unsafe("SELECT 1");
      assert.equal(issues.length, 1, JSON.stringify(issues));
      const [issue] = issues;
      assert.deepEqual([issue.component, issue.cause, issue.severity], [
        "connection",
        "startup_parameters_refused",
        "warning",
      ]);
      assert.match(issue.message, new RegExp(`^127\\.0\\.0\\.1:${bouncer.port} refused statement_timeout`));
      assert.match(issue.message, /unsupported startup parameter: (statement|lock)_timeout/);
      assert.match(issue.message, /ignore_startup_parameters/);
      assert.match(issue.message, /cancels a statement after 1500 ms itself/);
      // The server settings were not applied (nor left behind on a pooled server connection).
      const [st] = await cm.sql("shop").unsafe("SELECT current_setting('statement_timeout') AS v");
      assert.equal(st.v, "0");
    });

    await t.step("the collector cancels a statement that outlives statement_timeout", async () => {
      const shop = cm.sql("shop");
      const t0 = performance.now();
      await assert.rejects(
        shop.unsafe("SELECT pg_sleep(10) AS slow_through_bouncer"),
        (e: Error & { code?: string }) =>
          e.code === "57014" && /after 1500 ms: statement_timeout enforced by the collector/.test(e.message),
      );
      const took = performance.now() - t0;
      assert.ok(took >= 1400 && took < 5000, `cancelled after ${took} ms`);
      await waitUntil("the server statement is gone", async () =>
        (await admin`SELECT 1 FROM pg_stat_activity
          WHERE query LIKE '%slow_through_bouncer%' AND pid <> pg_backend_pid() AND state = 'active'`)
          .length === 0, 3000);
      assert.equal((await shop.unsafe("SELECT 3 AS n"))[0].n, 3, "the session goes on");
      assert.equal(issues.length, 1);
    });

    await t.step("the admin console session: simple protocol, no settings, no parameters", async () => {
      const fresh: CollectionIssue[] = [];
      const cm2 = new ConnectionManager(viaBouncer(), { report: (i) => fresh.push(i) });
      try {
        const adminConsole = cm2.sql("pgbouncer", PGBOUNCER_CONSOLE);
        assert.match(String((await adminConsole.unsafe("SHOW VERSION"))[0].version), /PgBouncer/);
        const pools = await adminConsole.unsafe("SHOW POOLS", [], { simple: false });
        assert.ok(pools.some((r) => r.database === "shop"), "the extended protocol is never used");
        await assert.rejects(
          adminConsole.unsafe("SHOW POOLS", [1]),
          /admin console runs statements without parameters/,
        );
        assert.equal(cm2.sendsTimeouts, true, "the console login refused nothing");
        assert.deepEqual(fresh, []);
        // The same database as an ordinary session fails on the extended protocol.
        await assert.rejects(
          cm2.sql("pgbouncer").unsafe("SHOW STATS", [], { simple: false }),
          /extended query protocol not supported by admin console/,
        );
      } finally {
        await cm2.close();
      }
    });

    await t.step("isStartupParameterRefusal tells PgBouncer's refusal from other errors", async () => {
      const raw = (port: number, connection: Record<string, string>, database = "shop") =>
        postgres({
          host: "127.0.0.1",
          port,
          user: "postgres",
          password: cluster.password,
          database,
          max: 1,
          fetch_types: false,
          connection,
          onnotice: () => {},
        });
      const errorOf = async (sql: postgres.Sql, text = "SELECT 1") => {
        try {
          await sql.unsafe(text);
          return undefined;
        } catch (e) {
          return e;
        } finally {
          await sql.end({ timeout: 0 });
        }
      };
      const refused = await errorOf(raw(bouncer.port, { lock_timeout: "100" }));
      assert.equal(isStartupParameterRefusal(refused), true, String(refused));
      assert.equal(isStartupParameterRefusal(await errorOf(raw(bouncer.port, {}), "SELEC 1")), false);
      assert.equal(isStartupParameterRefusal(await errorOf(raw(cluster.port, {}, "missing_db"))), false);
      assert.equal(isStartupParameterRefusal(new Error("unsupported startup parameter: x")), false);
    });
  } finally {
    await cm.close();
  }
});

Deno.test("ConnectionManager through a PgBouncer that ignores the timeouts: no retry, no warning", async () => {
  await using cluster = await startCluster({ name: "conn-bouncer-ign" });
  await using bouncer = await startPgBouncer(cluster, {
    settings: { ignore_startup_parameters: "statement_timeout,lock_timeout" },
  });
  const issues: CollectionIssue[] = [];
  const cm = new ConnectionManager(
    { ...clusterConfig(cluster), port: String(bouncer.port) },
    { report: (i) => issues.push(i) },
  );
  try {
    assert.equal((await cm.sql("postgres").unsafe("SELECT 1 AS n"))[0].n, 1);
    assert.equal(cm.sendsTimeouts, true);
    assert.deepEqual(issues, []);
  } finally {
    await cm.close();
  }
});
