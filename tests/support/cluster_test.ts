import assert from "node:assert/strict";
import postgres from "postgres";
import { join } from "node:path";
import { removeStaleClusters, startCluster } from "./cluster.ts";
import { matrixServers } from "./servers.ts";

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("cluster: rejects bad names before touching the disk", async () => {
  await assert.rejects(startCluster({ name: "../escape" }), /invalid cluster name/);
  await assert.rejects(startCluster({ preload: ["x;y"] }), /invalid preload library name/);
});

Deno.test("cluster: a bad setting fails with the server log and leaves no directory", async () => {
  const before = await listClusterDirs();
  const err = await startCluster({ name: "badsetting", settings: { shared_buffers: "lots" } }).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err instanceof Error, "startCluster should have failed");
  assert.match(err.message, /did not start/);
  assert.match(err.message, /shared_buffers/);
  assert.deepEqual(await listClusterDirs(), before);
});

async function listClusterDirs(): Promise<string[]> {
  const base = join(import.meta.dirname!, "..", "..", ".state", "clusters");
  const names: string[] = [];
  if (!(await exists(base))) return names;
  for await (const e of Deno.readDir(base)) if (e.name.startsWith("badsetting-")) names.push(e.name);
  return names.sort();
}

for (const server of matrixServers()) {
  Deno.test(`cluster[${server.id}]: starts, serves TCP with a password, and stop removes it`, async () => {
    const cluster = await startCluster({
      server,
      name: `matrix-${server.id}`,
      preload: ["pg_stat_statements"],
      settings: { work_mem: "7MB" },
    });
    let stopped = false;
    try {
      assert.ok(await exists(cluster.dataDir));
      const sql = cluster.sql();
      const [row] = await sql`
        SELECT current_setting('server_version_num')::int AS num,
               current_setting('shared_preload_libraries') AS preload,
               current_setting('work_mem') AS work_mem,
               current_setting('track_io_timing') AS io_timing,
               current_setting('pg_stat_statements.track') AS track,
               current_setting('listen_addresses') AS listen,
               current_setting('unix_socket_directories') AS sockets`;
      assert.equal(Math.floor(row.num / 10000), server.major);
      assert.equal(cluster.major, server.major);
      assert.equal(row.preload, "pg_stat_statements");
      assert.equal(row.work_mem, "7MB");
      assert.equal(row.io_timing, "on");
      assert.equal(row.track, "all");
      assert.equal(row.listen, "127.0.0.1");
      assert.equal(row.sockets, cluster.socketDir);
      assert.ok(await exists(join(cluster.socketDir, `.s.PGSQL.${cluster.port}`)));
      if (server.major >= 14) {
        const [q] = await sql`SELECT current_setting('compute_query_id') AS v`;
        assert.equal(q.v, "on");
      }

      const version = await cluster.createExtension("postgres", "pg_stat_statements");
      assert.match(version, /^\d+\.\d+$/);
      await sql.unsafe("SELECT count(*) FROM pg_class WHERE relpages > 42");
      await sql.unsafe("SELECT count(*) FROM pg_class WHERE relpages > 43");
      const seen = await sql`
        SELECT calls FROM pg_stat_statements WHERE query = 'SELECT count(*) FROM pg_class WHERE relpages > $1'`;
      assert.deepEqual(seen.map((r) => Number(r.calls)), [2]);

      await cluster.createDatabase("appdb");
      await cluster.createRole("monitor", "s3cret'pw", {
        grants: ["pg_monitor", "CONNECT ON DATABASE appdb"],
      });
      const asMonitor = postgres({
        host: cluster.host,
        port: cluster.port,
        user: "monitor",
        password: "s3cret'pw",
        database: "appdb",
        max: 1,
        onnotice: () => {},
      });
      try {
        const [me] = await asMonitor`
          SELECT current_user AS who, current_database() AS db,
                 pg_has_role('pg_monitor', 'MEMBER') AS monitor, rolsuper AS super
          FROM pg_roles WHERE rolname = current_user`;
        assert.deepEqual({ ...me }, { who: "monitor", db: "appdb", monitor: true, super: false });
      } finally {
        await asMonitor.end();
      }

      const wrong = postgres({
        host: cluster.host,
        port: cluster.port,
        user: "postgres",
        password: "not-the-password",
        max: 1,
        onnotice: () => {},
      });
      await assert.rejects(wrong`SELECT 1`, /password authentication failed/);
      await wrong.end();

      assert.match(cluster.logTail(200), /password authentication failed for user "postgres"/);
      await assert.rejects(cluster.createDatabase("bad;name"), /invalid database name/);

      await cluster.stop();
      stopped = true;
      assert.equal(await exists(cluster.dir), false);
      await assert.rejects(
        Deno.connect({ hostname: "127.0.0.1", port: cluster.port }).then((c) => c.close()),
        /refused/i,
      );
      await cluster.stop(); // a second stop is harmless
      assert.throws(() => cluster.sql(), /is stopped/);
    } finally {
      if (!stopped) await cluster.stop();
    }
  });
}

Deno.test("cluster: without preload, pg_stat_statements cannot be queried", async () => {
  await using cluster = await startCluster({ name: "nopreload" });
  const sql = cluster.sql();
  const [row] = await sql`SELECT current_setting('shared_preload_libraries') AS preload`;
  assert.equal(row.preload, "");
  await cluster.createExtension("postgres", "pg_stat_statements");
  await assert.rejects(
    sql`SELECT * FROM pg_stat_statements`,
    /must be loaded via "?shared_preload_libraries/,
  );
});

Deno.test("cluster: two clusters run side by side on different ports", async () => {
  await using a = await startCluster({ name: "pair" });
  await using b = await startCluster({ name: "pair" });
  assert.notEqual(a.port, b.port);
  assert.notEqual(a.dir, b.dir);
  await a.createDatabase("only_in_a");
  const inB = await b.sql()`SELECT 1 FROM pg_database WHERE datname = 'only_in_a'`;
  assert.equal(inB.length, 0);
});

Deno.test("cluster: removeStaleClusters removes only old directories without a live postmaster", async () => {
  const base = await Deno.makeTempDir();
  try {
    const old = new Date(Date.now() - 60 * 60 * 1000);
    const make = async (name: string, pid: number | undefined, mtime: Date | undefined) => {
      const dir = join(base, name);
      await Deno.mkdir(join(dir, "data"), { recursive: true });
      if (pid !== undefined) await Deno.writeTextFile(join(dir, "data", "postmaster.pid"), `${pid}\n/data\n`);
      if (mtime) await Deno.utime(dir, mtime, mtime);
      return dir;
    };
    const deadPid = await (async () => {
      const child = new Deno.Command("true").spawn();
      await child.status;
      return child.pid;
    })();
    const dead = await make("dead-old", deadPid, old);
    const noPid = await make("nopid-old", undefined, old);
    const fresh = await make("nopid-fresh", undefined, undefined);
    const alive = await make("alive-old", Deno.pid, old);
    const removed = await removeStaleClusters(base);
    assert.deepEqual(removed.sort(), [dead, noPid].sort());
    assert.equal(await exists(fresh), true);
    assert.equal(await exists(alive), true);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
