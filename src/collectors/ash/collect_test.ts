import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { startSessionStates } from "../../../tests/support/ash_sessions.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { defaultConfig } from "../../config/defaults.ts";
import type { AshConfig, Config } from "../../config/types.ts";
import { type CollectionIssue, emptySnapshot, type UnifiedMetrics } from "../../core/model.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import { ASH_PURPOSE, AshCollector } from "./collect.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function config(hostname: string, port: number, ash: Partial<AshConfig>, qpm = true): Config {
  const c = defaultConfig();
  return {
    ...c,
    hostname,
    port: String(port),
    database: "shop",
    enableQueryMonitoring: qpm,
    ash: { ...c.ash, ...ash },
  };
}

const snapshot = (): UnifiedMetrics =>
  emptySnapshot({ host: "h", port: "1", serverVersionNum: 0, majorVersion: 0, serverVersion: "" });

Deno.test("AshCollector: one-shot and daemon cycles against a real server", async (t) => {
  await using cluster = await startCluster({ name: "ashcollect" });
  await cluster.createDatabase("shop");
  await using states = await startSessionStates(cluster, "shop", { busy: 2, waiters: 2, idleInTx: 1 });
  const cm = clusterConnections(cluster);
  const caps = await probeCapabilities(cm.sql("shop"));
  const input = (issues: CollectionIssue[]) => ({
    caps,
    databases: ["shop"],
    report: (i: CollectionIssue) => issues.push(i),
  });

  try {
    await t.step("off, or auto without query monitoring, samples nothing", async () => {
      for (
        const [ash, qpm] of [[{ mode: "off" as const }, true], [{ mode: "auto" as const }, false]] as const
      ) {
        const c = new AshCollector(config(cluster.host, cluster.port, ash, qpm), cm, false);
        assert.equal(c.enabled(), false);
        const snap = snapshot();
        await c.collect(input([]), snap);
        assert.equal(snap.activeSessionHistory, undefined);
      }
      assert.ok(
        new AshCollector(config(cluster.host, cluster.port, { mode: "on" }, false), cm, false).enabled(),
      );
    });

    await t.step("one-shot: a burst of samples, aggregated, with CPU from /proc", async () => {
      const issues: CollectionIssue[] = [];
      const c = new AshCollector(
        config(cluster.host, cluster.port, { intervalMs: 150, oneshotSamples: 4 }),
        cm,
        false,
      );
      const snap = snapshot();
      const t0 = performance.now();
      await c.collect(input(issues), snap);
      assert.ok(performance.now() - t0 >= 3 * 150, "the burst spans its intervals");
      await c.close();
      const rows = snap.activeSessionHistory!;
      const group = (state: string, waitType?: string) =>
        rows.filter((r) => r.state === state && r.waitEventType === waitType);
      const busy = group("active");
      assert.equal(busy.reduce((n, r) => n + r.samples, 0), 2 * 4);
      assert.ok(busy.every((r) => r.windowSamples === 4 && r.sampleIntervalMs === 150));
      assert.ok(busy.every((r) => r.cpuSamples > 0 && r.cpuSeconds! > 0), JSON.stringify(busy));
      const locked = group("active", "Lock");
      assert.equal(locked.reduce((n, r) => n + r.samples, 0), 2 * 4);
      assert.equal(locked.reduce((n, r) => n + r.blockedSamples, 0), 2 * 4);
      assert.equal(group("idle in transaction", "Client").reduce((n, r) => n + r.samples, 0), 2 * 4);
      assert.deepEqual({ ...snap.ashStats, sinceUnixMs: 0 }, {
        sinceUnixMs: 0,
        intervalMs: 150,
        samplesTaken: 4,
        sampleFailures: 0,
        samplesSkipped: 0,
        cycleSamples: 4,
        cycleFailures: 0,
        evictedSamples: 0,
        evictedSessionSamples: 0,
        unexportedSamples: 0,
        ringSamples: 4,
        ringSessionSamples: 4 * 6,
        cpuMeasured: true,
        aggregateOverflow: 0,
      });
      assert.deepEqual(issues.map((i) => [i.cause, i.severity]), [["cpu:on", "debug"]]);
    });

    await t.step("daemon: a sample at once, then the timer keeps sampling between cycles", async () => {
      const issues: CollectionIssue[] = [];
      const c = new AshCollector(config(cluster.host, cluster.port, { intervalMs: 100 }), cm, true);
      try {
        const first = snapshot();
        await c.collect(input(issues), first);
        assert.equal(first.ashStats?.cycleSamples, 1);
        await sleep(650);
        const second = snapshot();
        await c.collect(input(issues), second);
        const n = second.ashStats!.cycleSamples;
        assert.ok(n >= 5 && n <= 8, `${n} samples in 650 ms at 100 ms`);
        assert.ok(second.activeSessionHistory!.every((r) => r.windowSamples === n));
        assert.equal(second.ashStats!.samplesTaken, 1 + n);
        assert.ok(
          second.activeSessionHistory![0].windowStartUnixMs > first.activeSessionHistory![0].windowEndUnixMs,
        );
      } finally {
        await c.close();
      }
    });

    await t.step(
      "a server that is not known to be local: CPU is left out, said once at debug level",
      async () => {
        const issues: CollectionIssue[] = [];
        const c = new AshCollector(config("db1.example.net", cluster.port, { oneshotSamples: 1 }), cm, false);
        const snap = snapshot();
        await c.collect(input(issues), snap);
        await c.collect(input(issues), snapshot());
        assert.deepEqual(issues.map((i) => [i.cause, i.severity]), [["cpu:off", "debug"]]);
        assert.match(issues[0].message, /without per-backend CPU: the server db1\.example\.net is not known/);
        assert.ok(snap.activeSessionHistory!.length >= 3);
        assert.ok(snap.activeSessionHistory!.every((r) => r.cpuSeconds === undefined && r.cpuSamples === 0));
        assert.equal(snap.ashStats?.cpuMeasured, false);
      },
    );

    await t.step("a local server whose processes /proc hides: a warning, once", async () => {
      const issues: CollectionIssue[] = [];
      const hidden = (
        path: string,
      ) => (/^\/proc\/\d+\//.test(path) ? undefined : Deno.readTextFileSync(path));
      const c = new AshCollector(config(cluster.host, cluster.port, { oneshotSamples: 1 }), cm, false, {
        readProc: hidden,
      });
      await c.collect(input(issues), snapshot());
      await c.collect(input(issues), snapshot());
      assert.deepEqual(issues.map((i) => [i.cause, i.severity]), [["cpu:off", "warning"]]);
      assert.match(issues[0].message, /\/proc\/\d+\/stat of the collector's backend cannot be read/);
    });

    await t.step("no way to read /proc: the reader's reason as a warning, once; the rest works", async () => {
      const issues: CollectionIssue[] = [];
      let opened = 0;
      const c = new AshCollector(config(cluster.host, cluster.port, { oneshotSamples: 1 }), cm, false, {
        openReader: () => {
          opened++;
          return { ok: false, reason: "the runtime refuses /proc and the library is missing" };
        },
      });
      const snap = snapshot();
      await c.collect(input(issues), snap);
      await c.collect(input(issues), snapshot());
      assert.equal(opened, 1);
      assert.deepEqual(issues.map((i) => [i.cause, i.severity, i.message]), [[
        "cpu:off",
        "warning",
        "active session history without per-backend CPU: the runtime refuses /proc and the library is missing",
      ]]);
      assert.ok(snap.activeSessionHistory!.length >= 3 && snap.ashStats?.cpuMeasured === false);
    });

    await t.step(
      "failed samples are counted and reported with the cycle; nothing is aggregated",
      async () => {
        const issues: CollectionIssue[] = [];
        const cfg = {
          ...config(cluster.host, cluster.port, { oneshotSamples: 2, intervalMs: 100 }),
          database: "gone",
        };
        const c = new AshCollector(cfg, cm, false);
        const snap = snapshot();
        await c.collect({ ...input(issues), databases: [] }, snap);
        assert.equal(snap.activeSessionHistory, undefined, "no databases: nothing to sample");
        await c.collect(input(issues), snap);
        assert.deepEqual(snap.activeSessionHistory, []);
        assert.equal(snap.ashStats?.sampleFailures, 2);
        assert.equal(snap.ashStats?.cycleSamples, 0);
        assert.deepEqual(issues.map((i) => [i.cause.split(":")[0], i.severity]), [
          ["cpu_probe", "warning"],
          ["sample", "warning"],
        ]);
        assert.match(
          issues[1].message,
          /^2 active session sample\(s\) failed this cycle: .*"gone" does not exist/,
        );
        assert.equal(cm.sql("gone", ASH_PURPOSE), cm.sql("gone", ASH_PURPOSE), "its own session, kept");
      },
    );
  } finally {
    await states.stop();
    await cm.close();
  }
});
