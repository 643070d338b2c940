import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { defaultConfig } from "../../config/defaults.ts";
import { probeLocality, START_TOLERANCE_MS } from "../ash/locality.ts";
import { denoProcReader } from "./proc_reader.ts";
import { readBootTimeMs } from "./procfs.ts";
import { belongsToServer, processStartMs, takeReading } from "./sampler.ts";

Deno.test("processStartMs: boot time plus start ticks of 10 ms", () => {
  assert.equal(processStartMs({ startTicks: 250 }, 1_000_000), 1_002_500);
});

Deno.test("belongsToServer: a child of the postmaster started when the server says", () => {
  const server = { postmasterPid: 100, bootMs: 1_000_000 };
  const stat = { ppid: 100, startTicks: 500 }; // started at 1_005_000
  assert.equal(belongsToServer(stat, server, 1_005_300), true);
  assert.equal(belongsToServer(stat, server, 1_005_000 + START_TOLERANCE_MS), true);
  assert.equal(belongsToServer(stat, server, 1_005_000 + START_TOLERANCE_MS + 1), false, "another start");
  assert.equal(belongsToServer({ ...stat, ppid: 101 }, server, 1_005_000), false, "another parent");
  assert.equal(belongsToServer(stat, server, undefined), false, "no backend_start to compare");
});

Deno.test("takeReading: the server's processes with their /proc files, host pressure, delay accounting", async () => {
  await using cluster = await startCluster({ name: "ossampler" });
  await cluster.createDatabase("shop");
  const cm = clusterConnections(cluster);
  try {
    const sql = cm.sql("shop", "os");
    const read = denoProcReader();
    const locality = await probeLocality(sql, "127.0.0.1");
    assert.ok(locality.local);
    const postmasterPid = Number(
      Deno.readTextFileSync(join(cluster.dataDir, "postmaster.pid")).split("\n")[0],
    );
    assert.equal(locality.server.postmasterPid, postmasterPid);
    assert.equal(locality.server.bootMs, readBootTimeMs(read));

    const app = cluster.sql("shop");
    const appPid = Number((await app`SELECT pg_backend_pid() AS pid`)[0].pid);
    const scope = {
      databases: ["shop"],
      applicationName: defaultConfig().session.applicationName,
      hasQueryId: true,
    };
    const t0 = Date.now();
    const reading = await takeReading({ sql, scope, read, server: locality.server });
    assert.ok(reading.atMs >= t0 && reading.atMs <= Date.now());
    const mine = reading.processes.get(appPid);
    assert.ok(mine, "the application's backend was read");
    assert.equal(mine.sample.stat.pid, appPid);
    assert.equal(mine.sample.stat.ppid, postmasterPid);
    assert.ok(mine.sample.stat.comm.startsWith("postgres"));
    assert.ok(mine.sample.schedstat.onCpuNs > 0, "the backend has run");
    assert.equal(typeof mine.sample.io, "object", "root reads every io file");
    assert.equal(mine.process.state, "idle");
    for (const [pid, p] of reading.processes) assert.equal(p.sample.stat.ppid, postmasterPid, String(pid));
    assert.ok([...reading.processes.values()].some((p) => p.process.backendType === "checkpointer"));
    assert.equal(reading.unverified, 0);
    assert.ok(reading.pressure.cpu !== undefined && reading.pressure.io !== undefined);
    const sysctl = Deno.readTextFileSync("/proc/sys/kernel/task_delayacct").trim() === "1";
    assert.equal(reading.delayAccounting, sysctl);

    const elsewhere = await takeReading({
      sql,
      scope,
      read,
      server: { ...locality.server, postmasterPid: postmasterPid + 1 },
    });
    assert.equal(elsewhere.processes.size, 0, "processes of another postmaster are not this server's");
    assert.equal(elsewhere.unverified, reading.processes.size);
  } finally {
    await cm.close();
  }
});
