import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../../../tests/support/cluster.ts";
import { checkLocality, isBackendOf, probeLocality, START_TOLERANCE_MS } from "./locality.ts";
import { bootTimeMs, readProcFile, readProcStat } from "./proc_stat.ts";

/** `/proc` as a process sees it that may not look at other users' processes (`hidepid`). */
const ownProcessesOnly = (path: string) =>
  /^\/proc\/\d+\//.test(path) && !path.startsWith(`/proc/${Deno.pid}/`) ? undefined : readProcFile(path);

Deno.test("probeLocality: a server on this host is found through its backend and postmaster", async (t) => {
  await using cluster = await startCluster({ name: "ashlocal" });
  const sql = cluster.sql();
  const postmasterPid = Number(Deno.readTextFileSync(join(cluster.dataDir, "postmaster.pid")).split("\n")[0]);
  const [own] = await sql`SELECT pg_backend_pid() AS pid,
      (extract(epoch FROM pg_postmaster_start_time()) * 1000)::float8 AS pm_ms,
      (SELECT (extract(epoch FROM backend_start) * 1000)::float8 FROM pg_stat_activity
        WHERE pid = pg_backend_pid()) AS start_ms`;
  const facts = { backendPid: own.pid, backendStartMs: own.start_ms, postmasterStartMs: own.pm_ms };

  await t.step("127.0.0.1, localhost and the socket directory are local, and /proc agrees", async () => {
    for (const host of ["127.0.0.1", "localhost", cluster.socketDir]) {
      const found = await probeLocality(sql, host);
      assert.deepEqual(found, { local: true, server: { postmasterPid, bootMs: bootTimeMs() } }, host);
    }
  });

  await t.step("another host name is not local, without asking the server", async () => {
    const found = await probeLocality(sql, "db1.example.net");
    assert.equal(found.local, false);
    assert.ok(!found.local && found.remote);
    assert.match(
      !found.local ? found.reason : "",
      /the server db1\.example\.net is not known to be this host/,
    );
  });

  await t.step("a pid that is another process here: the server runs in another PID namespace", () => {
    const found = checkLocality({ ...facts, backendPid: Deno.pid });
    assert.ok(!found.local && !found.remote);
    assert.match(
      !found.local ? found.reason : "",
      /^process \d+ on this host is "deno" started at .*another PID namespace/,
    );
  });

  await t.step("a backend started at another time is another process", () => {
    const found = checkLocality({ ...facts, backendStartMs: facts.backendStartMs - 10 * START_TOLERANCE_MS });
    assert.ok(!found.local);
    assert.match(!found.local ? found.reason : "", /not the server's backend/);
  });

  await t.step("a postmaster started at another time is another server", () => {
    const found = checkLocality({ ...facts, postmasterStartMs: facts.postmasterStartMs + 3_600_000 });
    assert.ok(!found.local);
    assert.match(!found.local ? found.reason : "", /is not the server's postmaster/);
  });

  await t.step("processes hidden by /proc (hidepid) leave CPU unknown", () => {
    const found = checkLocality(facts, ownProcessesOnly);
    assert.ok(!found.local);
    assert.match(!found.local ? found.reason : "", /cannot be read/);
  });

  await t.step("isBackendOf checks the parent and the start time of each reading", () => {
    const server = { postmasterPid, bootMs: bootTimeMs()! };
    const stat = readProcStat(own.pid);
    assert.ok(isBackendOf(stat, server, facts.backendStartMs));
    assert.ok(!isBackendOf(stat, server, facts.backendStartMs + 2 * START_TOLERANCE_MS));
    assert.ok(!isBackendOf(stat, { ...server, postmasterPid: postmasterPid + 1 }, facts.backendStartMs));
    assert.ok(!isBackendOf(stat, server, undefined));
    assert.ok(!isBackendOf(undefined, server, facts.backendStartMs));
    assert.ok(!isBackendOf(readProcStat(Deno.pid), server, facts.backendStartMs));
  });
});
