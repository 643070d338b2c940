/**
 * The eBPF tier in a cycle, against a real PostgreSQL run from a private copy of its binaries (as
 * root: loading BPF needs it).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { defaultConfig } from "../../config/defaults.ts";
import type { Config } from "../../config/types.ts";
import { type CollectionIssue, emptySnapshot, type UnifiedMetrics } from "../../core/model.ts";
import { MARKER } from "../../query_engine/marker.ts";
import { startCluster } from "../../../tests/support/cluster.ts";
import { loadedPrograms, privateInstall } from "../../../tests/support/ebpf.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { COMPONENT, EbpfTier, findPostmaster } from "./ebpf.ts";

if (Deno.uid() !== 0) throw new Error("src/collectors/os/ebpf_test.ts loads BPF programs: run it as root");

function config(ebpf: Partial<Config["ebpf"]>): Config {
  const c = defaultConfig();
  return { ...c, hostname: "127.0.0.1", ebpf: { ...c.ebpf, ...ebpf } };
}

function snapshot(): UnifiedMetrics {
  return emptySnapshot({
    host: "127.0.0.1",
    port: "5432",
    serverVersionNum: 0,
    majorVersion: 15,
    serverVersion: "",
  });
}

Deno.test("eBPF tier in a cycle", async (t) => {
  await using install = await privateInstall();
  await using cluster = await startCluster({ server: install.server, name: "ebpftier" });
  await using connections = {
    cm: clusterConnections(cluster),
    async [Symbol.asyncDispose]() {
      await this.cm.close();
    },
  };
  const sql = connections.cm.sql("postgres");
  const postmasterPid = Number(Deno.readTextFileSync(join(cluster.dataDir, "postmaster.pid")).split("\n")[0]);
  const app = cluster.sql();
  const [{ pid: appPid }] = await app`SELECT pg_backend_pid() AS pid`;

  await t.step(
    "findPostmaster: the parent of the collector's backend; a remote host is refused",
    async () => {
      assert.deepEqual(await findPostmaster(sql, "127.0.0.1"), { pid: postmasterPid });
      assert.deepEqual(await findPostmaster(sql, "db.example.net"), {
        reason:
          "the server db.example.net is not on this host (only localhost, a loopback address or a socket " +
          "directory is)",
      });
    },
  );

  await t.step("disabled (the default): nothing is loaded, nothing is reported", async () => {
    const tier = new EbpfTier(defaultConfig(), false);
    const issues: CollectionIssue[] = [];
    const snap = snapshot();
    await tier.attach({ sql, report: (i) => issues.push(i) });
    await tier.collect({ sql, report: (i) => issues.push(i) }, snap);
    assert.equal(tier.attached(), false);
    assert.deepEqual(issues, []);
    assert.deepEqual(snap, { ...snapshot(), collectedAt: snap.collectedAt });
  });

  await t.step("a missing requirement is one warning per postmaster; the cycle goes on", async () => {
    const tier = new EbpfTier(config({ enabled: true }), false, {
      objectPath: "/nonexistent/pgql_delay.bpf.o",
    });
    const issues: CollectionIssue[] = [];
    const snap = snapshot();
    for (let i = 0; i < 3; i++) await tier.attach({ sql, report: (x) => issues.push(x) });
    await tier.collect({ sql, report: (x) => issues.push(x) }, snap);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0].component, COMPONENT);
    assert.equal(issues[0].cause, "unavailable:no_object");
    assert.equal(issues[0].severity, "warning");
    assert.match(
      issues[0].message,
      /^eBPF tier unavailable: cannot read the BPF object \/nonexistent\/pgql_delay\.bpf\.o: No such file or directory \(build it with "make -C bpf"; .*\); per-query OS delay \(PostgresQueryOsDelays\) is not collected, everything else is$/,
    );
    assert.equal(snap.queryOsDelays, undefined);
    assert.equal(snap.ebpfStats, undefined);
    assert.deepEqual(await loadedPrograms(), []);
  });

  await t.step(
    "attached: the application's queries become rows, the collector's own are left out",
    async () => {
      const tier = new EbpfTier(config({ enabled: true, thresholdMs: 20 }), false);
      const issues: CollectionIssue[] = [];
      const report = (i: CollectionIssue) => issues.push(i);
      await tier.attach({ sql, report });
      assert.equal(tier.attached(), true, JSON.stringify(issues));
      assert.deepEqual(issues.map((i) => [i.cause, i.severity]), [[`attached:${postmasterPid}`, "debug"]]);
      try {
        await app.unsafe("SELECT pg_sleep(0.1), 'secret'");
        await app`SELECT pg_sleep(${0.05})`;
        await app.unsafe("SELECT 42");
        await sql.unsafe(`${MARKER} SELECT pg_sleep(0.05)`);
        await sql.unsafe("SELECT pg_sleep(0.05)");
        const snap = snapshot();
        await tier.collect({ sql, report }, snap);
        assert.deepEqual(
          snap.queryOsDelays?.map((r) => [r.pid, r.protocol, r.queryText, r.databaseName, r.userName]),
          [
            [appPid, "simple", "SELECT pg_sleep(?), ?", "postgres", "postgres"],
            [appPid, "extended", "SELECT pg_sleep($1)", "postgres", "postgres"],
          ],
        );
        const sleep = snap.queryOsDelays![0];
        assert.ok(sleep.durationMs >= 100 && sleep.sleepMs >= 90, JSON.stringify(sleep));
        assert.ok(sleep.startUnixUs <= Date.now() * 1000 && sleep.startUnixUs > (Date.now() - 60_000) * 1000);
        const stats = snap.ebpfStats!;
        assert.ok(stats.cycleEvents >= 4, "the own sessions' events were read, then left out");
        assert.ok(stats.belowThreshold >= 1, "SELECT 42");
        assert.equal(stats.eventsEmitted, stats.cycleEvents);
        assert.ok(stats.probeHits >= 2 * stats.queriesClosed);
        assert.equal(stats.ringFull, 0);
        const next = snapshot();
        await tier.collect({ sql, report }, next);
        assert.deepEqual(next.queryOsDelays?.filter((r) => r.pid === appPid), [], "nothing twice");
        assert.equal(issues.length, 1, JSON.stringify(issues));
      } finally {
        tier.close();
      }
      assert.equal(tier.attached(), false);
      assert.deepEqual(await loadedPrograms(), []);
    },
  );
});
