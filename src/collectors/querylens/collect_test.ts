import assert from "node:assert/strict";
import { defaultConfig } from "../../config/defaults.ts";
import type { Config } from "../../config/types.ts";
import { type CollectionIssue, emptySnapshot } from "../../core/model.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { startQueryLensCluster } from "../../../tests/support/querylens.ts";
import { startCluster } from "../../../tests/support/cluster.ts";
import { isLocalHost, QueryLensCollector } from "./collect.ts";

function config(over: Partial<Config["querylens"]> = {}, rest: Partial<Config> = {}): Config {
  const c = defaultConfig();
  return {
    ...c,
    enableQueryMonitoring: true,
    queryMonitoringResponseTimeThreshold: 50,
    ...rest,
    querylens: { ...c.querylens, ...over },
  };
}

function snapshot() {
  return emptySnapshot({
    host: "127.0.0.1",
    port: "5432",
    serverVersionNum: 0,
    majorVersion: 0,
    serverVersion: "",
  });
}

Deno.test("isLocalHost: loopback names and socket paths only", () => {
  for (const h of ["localhost", "127.0.0.1", "::1", "/var/run/postgresql", ""]) assert.ok(isLocalHost(h), h);
  for (const h of ["db.example.com", "10.0.0.5", "127.0.0.2x"]) assert.ok(!isLocalHost(h), h);
});

Deno.test("QueryLensCollector against a real server with pg_querylens", async (t) => {
  await using cluster = await startQueryLensCluster({ name: "qlcollect" });
  const cm = clusterConnections(cluster);
  const sql = cm.sql("postgres");
  const caps = await probeCapabilities(sql);
  const app = cluster.sql("postgres");
  const run = async (collector: QueryLensCollector) => {
    const issues: CollectionIssue[] = [];
    const snap = snapshot();
    await collector.collect({ sql, caps, databases: ["postgres"], report: (i) => issues.push(i) }, snap);
    return { snap, issues };
  };
  try {
    await t.step("an unusable ffi/ library: reported once, records read over SQL instead", async () => {
      const collector = new QueryLensCollector(config(), false, {
        libraryPath: "/nonexistent/libpgquerylens.so",
      });
      await app.unsafe("SELECT pg_sleep(0.06)");
      const { snap, issues } = await run(collector);
      collector.close();
      const ffi = issues.filter((i) => i.cause.startsWith("ffi:"));
      assert.equal(ffi.length, 1, JSON.stringify(issues));
      assert.equal(ffi[0].severity, "warning");
      assert.match(ffi[0].message, /nonexistent\/libpgquerylens\.so/);
      assert.match(ffi[0].message, /over SQL instead/);
      assert.equal(snap.queryLensStats?.source, "sql");
      assert.ok(snap.queryExecutions?.some((e) => e.durationMs >= 60 && e.sampleReason === "slow"));
    });

    await t.step("querylens_source = ffi against a remote host: an error and no data", async () => {
      const collector = new QueryLensCollector(
        config({ source: "ffi" }, { hostname: "db.example.com" }),
        false,
      );
      const { snap, issues } = await run(collector);
      assert.equal(snap.queryExecutions, undefined);
      const err = issues.find((i) => i.component === "querylens");
      assert.equal(err?.severity, "error");
      assert.match(err!.message, /db\.example\.com is not on this host/);
    });

    await t.step("querylens = off reads nothing", async () => {
      const collector = new QueryLensCollector(config({ mode: "off" }), false);
      const { snap, issues } = await run(collector);
      assert.equal(snap.queryLensStats, undefined);
      assert.deepEqual(issues, []);
    });

    await t.step(
      "daemon mode drains the rings between cycles: more than a ring holds, nothing lost",
      async () => {
        const collector = new QueryLensCollector(config({ pollMs: 10 }), true);
        try {
          const first = await run(collector);
          assert.equal(first.snap.queryLensStats?.source, "ffi");
          const [{ ring_slots }] = await app.unsafe(
            "SELECT current_setting('pg_querylens.ring_slots')::int AS ring_slots",
          );
          const n = ring_slots * 3;
          for (let done = 0; done < n; done += 200) {
            await app.unsafe(`SELECT 1 FROM generate_series(1, 200) g, LATERAL (SELECT g) s`);
            for (let i = 0; i < 200; i++) await app.unsafe("SELECT $1::int", [i]);
            await new Promise((r) => setTimeout(r, 20));
          }
          const second = await run(collector);
          const stats = second.snap.queryLensStats!;
          assert.ok(stats.cycleRecordsRead >= n, `${stats.cycleRecordsRead} records read, ${n} executed`);
          assert.equal(stats.cycleRecordsLost, 0);
        } finally {
          collector.close();
        }
      },
    );
  } finally {
    await cm.close();
  }
});

Deno.test("QueryLensCollector: extension absent — debug with auto, error with on", async () => {
  await using cluster = await startCluster({ name: "qlabsent" });
  const cm = clusterConnections(cluster);
  try {
    const sql = cm.sql("postgres");
    const caps = await probeCapabilities(sql);
    for (const [mode, severity] of [["auto", "debug"], ["on", "error"]] as const) {
      const issues: CollectionIssue[] = [];
      const snap = snapshot();
      await new QueryLensCollector(config({ mode }), false).collect(
        { sql, caps, databases: ["postgres"], report: (i) => issues.push(i) },
        snap,
      );
      assert.equal(issues.length, 1);
      assert.equal(issues[0].severity, severity);
      assert.match(issues[0].message, /add pg_querylens to shared_preload_libraries/);
      assert.equal(snap.queryExecutions, undefined);
    }
  } finally {
    await cm.close();
  }
});
