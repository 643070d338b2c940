import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cluster, serverUser, startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { waitUntil } from "../../../tests/support/workload.ts";
import { defaultConfig } from "../../config/defaults.ts";
import type { Config } from "../../config/types.ts";
import { type CollectionIssue, emptySnapshot, type UnifiedMetrics } from "../../core/model.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import { ConnectionManager } from "../../query_engine/connection.ts";
import { OS_COMPONENT, OsCollector, type OsCollectorOptions } from "./collect.ts";
import { denoProcReader, type ProcFileReader } from "./proc_reader.ts";

function configFor(cluster: Cluster | undefined, over: Partial<Config["os"]> = {}, host?: string): Config {
  const c = defaultConfig();
  if (cluster !== undefined) {
    c.hostname = cluster.host;
    c.port = String(cluster.port);
    c.username = cluster.superuser;
    c.password = cluster.password;
  }
  if (host !== undefined) c.hostname = host;
  c.database = "shop";
  // `auto` follows query monitoring.
  c.enableQueryMonitoring = true;
  c.os = { ...c.os, ...over };
  return c;
}

const snapshot = (): UnifiedMetrics =>
  emptySnapshot({ host: "h", port: "1", serverVersionNum: 0, majorVersion: 0, serverVersion: "" });

/** A collector for `config` and what its cycles report. */
function collectorFor(config: Config, daemon: boolean, options: OsCollectorOptions = {}) {
  const cm = new ConnectionManager(config);
  const os = new OsCollector(config, cm, daemon, options);
  const issues: CollectionIssue[] = [];
  const cycle = async (caps: Awaited<ReturnType<typeof probeCapabilities>>) => {
    const snap = snapshot();
    await os.collect({ caps, databases: ["shop"], report: (i) => issues.push(i) }, snap);
    return snap;
  };
  return {
    os,
    cm,
    issues,
    cycle,
    [Symbol.asyncDispose]: async () => {
      os.close();
      await cm.close();
    },
  };
}

Deno.test("OsCollector: off, and a host that is not this one, measure nothing and say so once", async () => {
  await using cluster = await startCluster({ name: "osremote" });
  await cluster.createDatabase("shop");
  const caps = await probeCapabilities(clusterConnections(cluster).sql("shop"));

  const off = collectorFor(configFor(cluster, { mode: "off" }), false);
  assert.equal(off.os.enabled(), false);
  assert.equal((await off.cycle(caps)).kernelMetrics, undefined);
  assert.deepEqual(off.issues, []);
  await off[Symbol.asyncDispose]();

  for (const [mode, severity] of [["auto", "debug"], ["on", "warning"]] as const) {
    await using c = collectorFor(configFor(cluster, { mode }, "db1.example.net"), true);
    for (let i = 0; i < 2; i++) assert.equal((await c.cycle(caps)).kernelMetrics, undefined);
    assert.equal(c.issues.length, 1, `one message for two cycles (${mode})`);
    assert.equal(c.issues[0].component, OS_COMPONENT);
    assert.equal(c.issues[0].cause, "not_local");
    assert.equal(c.issues[0].severity, severity);
    assert.match(c.issues[0].message, /the server db1\.example\.net is not known to be this host/);
    assert.match(c.issues[0].message, /run the collector on the database host/);
    assert.equal(c.os.measuring(), false);
  }
});

Deno.test("OsCollector: no way to read /proc, or a /proc that hides the server, is one warning", async () => {
  await using cluster = await startCluster({ name: "osnotperm" });
  await cluster.createDatabase("shop");
  const caps = await probeCapabilities(clusterConnections(cluster).sql("shop"));

  {
    await using c = collectorFor(configFor(cluster), false, {
      openReader: () => ({ ok: false, reason: "the runtime refuses /proc (test)" }),
    });
    await c.cycle(caps);
    await c.cycle(caps);
    assert.deepEqual(c.issues.map((i) => [i.component, i.cause, i.severity, i.message]), [
      [
        OS_COMPONENT,
        "not_permitted",
        "warning",
        "OS metrics are not collected: the runtime refuses /proc (test)",
      ],
    ]);
  }
  {
    // What a process sees of /proc mounted with hidepid=invisible: its own entries only.
    const real = denoProcReader();
    const hidepid: ProcFileReader = (path) =>
      /^\/proc\/\d+\//.test(path) && !path.startsWith(`/proc/${Deno.pid}/`)
        ? { ok: false, error: "missing" }
        : real(path);
    await using c = collectorFor(configFor(cluster), false, {
      openReader: () => ({ ok: true, kind: "deno", read: hidepid, close: () => {} }),
    });
    assert.equal((await c.cycle(caps)).kernelMetrics, undefined);
    await c.cycle(caps);
    assert.equal(c.issues.length, 1);
    assert.equal(c.issues[0].cause, "not_visible");
    assert.equal(c.issues[0].severity, "warning");
    assert.match(c.issues[0].message, /of the collector's backend cannot be read/);
    assert.match(c.issues[0].message, /without hidepid, or set os_metrics=off/);
  }
});

Deno.test("OsCollector: a one-shot cycle reads twice, os_oneshot_interval_ms apart", async () => {
  await using cluster = await startCluster({ name: "osoneshot", settings: { compute_query_id: "on" } });
  await cluster.createDatabase("shop");
  const caps = await probeCapabilities(clusterConnections(cluster).sql("shop"));
  const busy = cluster.sql("shop");
  const busyPid = Number((await busy`SELECT pg_backend_pid() AS pid`)[0].pid);
  const loop = busy.unsafe(`DO $$ DECLARE t timestamptz := clock_timestamp(); x float8 := 0;
    BEGIN WHILE clock_timestamp() < t + interval '3 s' LOOP x := x + sqrt(random()); END LOOP; END $$`)
    .execute();
  await waitUntil("the loop to run", async () => {
    const [r] = await cluster.sql()`SELECT state FROM pg_stat_activity WHERE pid = ${busyPid}`;
    return r?.state === "active";
  });
  await using c = collectorFor(configFor(cluster, { oneshotIntervalMs: 400 }), false);
  const k = (await c.cycle(caps)).kernelMetrics;
  await loop;
  assert.ok(k !== undefined, JSON.stringify(c.issues));
  const interval = k.intervalEndUnixMs - k.intervalStartUnixMs;
  assert.equal(k.continuous, false, "a one-shot interval is a sample");
  assert.ok(interval >= 400 && interval < 1500, `${interval} ms`);
  const row = k.perBackend.find((r) => r.pid === busyPid);
  assert.ok(row, "the busy backend is reported");
  assert.equal(row.state, "active");
  assert.equal(row.databaseName, "shop");
  assert.ok(row.onCpuMs + row.runQueueMs >= 0.8 * row.intervalMs, JSON.stringify(row));
  assert.ok(row.queryElapsedMs !== undefined && row.queryElapsedMs > row.intervalMs);
  assert.equal(row.queryObservedMs, row.intervalMs, "already running: only the interval is covered");
  const q = k.perQuery.find((r) => r.queryId === row.queryId);
  assert.ok(q && q.backends === 1 && q.onCpuMs === row.onCpuMs);
  assert.ok(k.pressure?.cpu !== undefined);
  assert.equal(k.ioReadable, true);
  assert.equal(c.os.measuring(), true);
  assert.deepEqual(c.issues, [], "a tier that measures is silent");
});

Deno.test("OsCollector: daemon cycles measure from the previous cycle's reading", async () => {
  await using cluster = await startCluster({ name: "osdaemon" });
  await cluster.createDatabase("shop");
  const caps = await probeCapabilities(clusterConnections(cluster).sql("shop"));
  const app = cluster.sql("shop");
  await using c = collectorFor(configFor(cluster, { oneshotIntervalMs: 100 }), true);
  const first = (await c.cycle(caps)).kernelMetrics;
  assert.ok(first !== undefined);
  assert.ok(first.intervalEndUnixMs - first.intervalStartUnixMs < 1000, "the first cycle reads twice");
  assert.equal(first.continuous, false);
  await new Promise((r) => setTimeout(r, 1200));
  await app`SELECT count(*) FROM generate_series(1, 200000)`;
  const second = (await c.cycle(caps)).kernelMetrics;
  assert.ok(second !== undefined);
  assert.equal(second.intervalStartUnixMs, first.intervalEndUnixMs);
  assert.equal(second.continuous, true);
  assert.ok(second.intervalEndUnixMs - second.intervalStartUnixMs >= 1200);
  const appPid = Number((await app`SELECT pg_backend_pid() AS pid`)[0].pid);
  const row = second.perBackend.find((r) => r.pid === appPid);
  assert.ok(row !== undefined && row.onCpuMs > 0, "the statement between the cycles is counted");
  assert.equal(row.state, "idle");
});

Deno.test("OsCollector: io files it may not read leave the bytes out and are said once", async () => {
  await using cluster = await startCluster({ name: "osio" });
  await cluster.createDatabase("shop");
  const caps = await probeCapabilities(clusterConnections(cluster).sql("shop"));
  const real = denoProcReader();
  const noIo: ProcFileReader = (path) =>
    /^\/proc\/\d+\/io$/.test(path) ? { ok: false, error: "denied" } : real(path);
  await using c = collectorFor(configFor(cluster, { oneshotIntervalMs: 100 }), true, {
    openReader: () => ({ ok: true, kind: "deno", read: noIo, close: () => {} }),
  });
  const app = cluster.sql("shop");
  const appPid = Number((await app`SELECT pg_backend_pid() AS pid`)[0].pid);
  const observer = cluster.sql();
  for (let i = 0; i < 2; i++) {
    const work = app.unsafe(`DO $$ DECLARE t timestamptz := clock_timestamp(); x float8 := 0;
      BEGIN WHILE clock_timestamp() < t + interval '1 s' LOOP x := x + sqrt(random()); END LOOP; END $$`)
      .execute();
    await waitUntil("the work to run", async () => {
      const [r] = await observer`SELECT state FROM pg_stat_activity WHERE pid = ${appPid}`;
      return r?.state === "active";
    });
    const k = (await c.cycle(caps)).kernelMetrics;
    await work;
    assert.ok(k !== undefined);
    assert.equal(k.ioReadable, false);
    assert.ok(k.perBackend.some((r) => r.pid === appPid), "the working backend is reported");
    for (const r of k.perBackend) assert.equal(r.readBytes, undefined);
  }
  const io = c.issues.filter((i) => i.cause === "io_unreadable");
  assert.equal(io.length, 1);
  assert.equal(io[0].severity, "warning");
  assert.match(io[0].message, /readable only by the server's OS user, root or a process with CAP_SYS_PTRACE/);
});

/** Restarts `cluster`'s server in place (same data directory and port), as its OS user. */
async function restartServer(cluster: Cluster): Promise<void> {
  const user = serverUser();
  const pgCtl = join(cluster.server.binDir, "pg_ctl");
  const env = cluster.server.libDir ? [`LD_LIBRARY_PATH=${cluster.server.libDir}`] : [];
  const ctl = [pgCtl, "-D", cluster.dataDir, "-l", cluster.logFile, "-w", "-m", "fast", "restart"];
  const [cmd, args] = user
    ? ["runuser", ["-u", user.name, "--", "env", ...env, ...ctl]]
    : ["env", [...env, ...ctl]];
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test("OsCollector: after the server restarts, a later cycle finds its new postmaster", async () => {
  await using cluster = await startCluster({ name: "osrestart" });
  await cluster.createDatabase("shop");
  const caps = await probeCapabilities(clusterConnections(cluster).sql("shop"));
  await using c = collectorFor(configFor(cluster, { oneshotIntervalMs: 100 }), true);
  assert.ok((await c.cycle(caps)).kernelMetrics !== undefined);
  await restartServer(cluster);
  const app = cluster.sql("shop");
  const appPid = Number((await app`SELECT pg_backend_pid() AS pid`)[0].pid);
  const seen: boolean[] = [];
  for (let i = 0; i < 5 && seen.at(-1) !== true; i++) {
    await app`SELECT count(*) FROM generate_series(1, 300000)`;
    const k = (await c.cycle(caps)).kernelMetrics;
    seen.push(k?.perBackend.some((r) => r.pid === appPid) === true);
  }
  assert.equal(seen[0], false, "the cycle right after the restart measures nothing");
  assert.equal(
    seen.at(-1),
    true,
    `a later cycle measures the new server's backends: ${JSON.stringify(seen)}`,
  );
  assert.ok(seen.length <= 3, `found again within two cycles: ${JSON.stringify(seen)}`);
});

Deno.test("OsCollector: nothing is measured while no database is monitored", async () => {
  await using cluster = await startCluster({ name: "osnodb" });
  await cluster.createDatabase("shop");
  const caps = await probeCapabilities(clusterConnections(cluster).sql("shop"));
  await using c = collectorFor(configFor(cluster), false);
  const snap = snapshot();
  await c.os.collect({ caps, databases: [], report: (i) => c.issues.push(i) }, snap);
  assert.equal(snap.kernelMetrics, undefined);
  assert.deepEqual(c.issues, []);
  assert.equal(c.os.measuring(), false, "not even probed");
  assert.ok((await c.cycle(caps)).kernelMetrics !== undefined, "with a database it measures");
});

Deno.test("OsCollector: auto follows query monitoring; on works without it", async () => {
  const auto = configFor(undefined);
  for (
    const [config, enabled] of [
      [auto, true],
      [{ ...auto, enableQueryMonitoring: false }, false],
      [{ ...configFor(undefined, { mode: "on" }), enableQueryMonitoring: false }, true],
    ] as const
  ) {
    await using c = collectorFor(config, false);
    assert.equal(c.os.enabled(), enabled);
  }
});
