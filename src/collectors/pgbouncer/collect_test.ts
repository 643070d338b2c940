/**
 * The contract of collectPgBouncerSamples against a real PgBouncer (Debian's package): the order
 * of the two commands and of their samples, the entity it names, and how each command fails
 * alone. The metrics themselves are checked in `tests/pgbouncer_test.ts` and `samples_test.ts`.
 *
 * To make one command fail while the other works, a routing session sends each command to a real
 * server: the PgBouncer admin console, or an ordinary PostgreSQL session (which knows neither
 * command and answers with an error).
 */
import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { startPgBouncer } from "../../../tests/support/pgbouncer.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { defaultConfig } from "../../config/defaults.ts";
import type { BaseSample, CollectionIssue } from "../../core/model.ts";
import {
  ConnectionManager,
  PGBOUNCER_CONSOLE,
  type Row,
  type Session,
} from "../../query_engine/connection.ts";
import { collectPgBouncerSamples } from "./collect.ts";

/** Host and port the samples name (the sessions go to the test PgBouncer). */
const HOST = "bouncer.example";
const PORT = 6432;

/** A session that sends each command to the session `routes` names for it, logging what it sends. */
function routed(routes: Record<string, Session>, log: string[]): Session {
  return {
    unsafe(text: string, params?: unknown[], options?: { simple?: boolean }): Promise<Row[]> {
      log.push(`${text} simple=${options?.simple}`);
      const target = routes[text];
      if (!target) return Promise.reject(new Error(`no route for ${text}`));
      return target.unsafe(text, params, options);
    },
  };
}

const isPool = (s: BaseSample) => s.metrics.some((m) => m.name === "pgbouncer.pools.user");
const valueOf = (s: BaseSample, name: string) => s.metrics.find((m) => m.name === name)?.value;

Deno.test("collectPgBouncerSamples against a real PgBouncer", async (t) => {
  await using cluster = await startCluster({ name: "bouncercollect" });
  await cluster.createDatabase("shop");
  await using bouncer = await startPgBouncer(cluster, { databases: ["postgres", "shop"] });
  await bouncer.sql("shop").unsafe("SELECT 1");
  const cm = new ConnectionManager({
    ...defaultConfig(),
    username: cluster.superuser,
    password: cluster.password,
    hostname: bouncer.host,
    port: String(bouncer.port),
  });
  const pg = clusterConnections(cluster);
  const adminConsole = cm.sql("pgbouncer", PGBOUNCER_CONSOLE);
  const notConsole = pg.sql("postgres");
  const read = (command: string) => adminConsole.unsafe(command, [], { simple: true });
  try {
    await t.step("SHOW STATS samples first, then SHOW POOLS, on PgBouncer host:port", async () => {
      const log: string[] = [];
      const issues: CollectionIssue[] = [];
      const session = routed({ "SHOW STATS": adminConsole, "SHOW POOLS": adminConsole }, log);
      const samples = await collectPgBouncerSamples(session, HOST, PORT, (i) => issues.push(i));
      assert.deepEqual(log, ["SHOW STATS simple=true", "SHOW POOLS simple=true"]);
      assert.deepEqual(issues, []);

      const stats = await read("SHOW STATS");
      const pools = await read("SHOW POOLS");
      assert.ok(stats.some((r) => r.database === "shop"), "precondition: shop has STATS");
      assert.deepEqual(
        samples.map((s) => [s.entity.name, isPool(s) ? valueOf(s, "pgbouncer.pools.user") : "stats"]),
        [...stats.map((r) => [r.database, "stats"]), ...pools.map((r) => [r.database, r.user])],
      );
      for (const s of samples) {
        assert.equal(s.eventType, "PgBouncerSample");
        assert.deepEqual(s.entity, {
          name: s.entity.name,
          type: "pgbouncer",
          idAttributes: [{ key: "host", value: HOST }, { key: "port", value: String(PORT) }],
        });
        assert.deepEqual(s.metrics.slice(0, 3).map((m) => m.value), [
          s.entity.name,
          `pgbouncer:${s.entity.name}`,
          HOST,
        ]);
      }
    });

    await t.step("a failing SHOW STATS is reported; the SHOW POOLS samples are still returned", async () => {
      const log: string[] = [];
      const issues: CollectionIssue[] = [];
      const session = routed({ "SHOW STATS": notConsole, "SHOW POOLS": adminConsole }, log);
      const samples = await collectPgBouncerSamples(session, HOST, String(PORT), (i) => issues.push(i));
      assert.deepEqual(log, ["SHOW STATS simple=true", "SHOW POOLS simple=true"]);
      const pools = await read("SHOW POOLS");
      assert.ok(samples.length > 0 && samples.every(isPool));
      assert.deepEqual(samples.map((s) => s.entity.name), pools.map((r) => r.database));
      assert.equal(issues.length, 1);
      assert.equal(issues[0].component, "pgbouncer.stats");
      assert.equal(issues[0].severity, "error");
      assert.match(issues[0].cause, /^error:.*"stats"/);
      assert.match(
        issues[0].message,
        /^SHOW STATS on the PgBouncer admin console at bouncer\.example:6432 failed: /,
      );
    });

    await t.step("a failing SHOW POOLS is reported; the SHOW STATS samples are still returned", async () => {
      const issues: CollectionIssue[] = [];
      const session = routed({ "SHOW STATS": adminConsole, "SHOW POOLS": notConsole }, []);
      const samples = await collectPgBouncerSamples(session, HOST, PORT, (i) => issues.push(i));
      const stats = await read("SHOW STATS");
      assert.ok(samples.length > 0 && !samples.some(isPool));
      assert.deepEqual(samples.map((s) => s.entity.name), stats.map((r) => r.database));
      assert.deepEqual(issues.map((i) => [i.component, i.severity]), [["pgbouncer.pools", "error"]]);
      assert.match(issues[0].message, /^SHOW POOLS on the PgBouncer admin console at bouncer\.example:6432/);
    });

    await t.step("without a report sink the first failure is thrown, with the server's error", async () => {
      const log: string[] = [];
      const stats = routed({ "SHOW STATS": notConsole, "SHOW POOLS": adminConsole }, log);
      const err = await collectPgBouncerSamples(stats, HOST, PORT).then(() => undefined, (e: Error) => e);
      assert.ok(err instanceof Error);
      assert.match(
        err.message,
        /^SHOW STATS on the PgBouncer admin console at bouncer\.example:6432 failed: /,
      );
      assert.ok(err.cause instanceof Error && /"stats"/.test(err.cause.message), String(err.cause));
      assert.deepEqual(log, ["SHOW STATS simple=true"], "SHOW POOLS is not sent after a thrown failure");

      const pools = routed({ "SHOW STATS": adminConsole, "SHOW POOLS": notConsole }, []);
      await assert.rejects(collectPgBouncerSamples(pools, HOST, PORT), /^Error: SHOW POOLS .* failed: /);
    });

    await t.step("an empty host or port is refused before any command is sent", async () => {
      const log: string[] = [];
      const session = routed({ "SHOW STATS": adminConsole, "SHOW POOLS": adminConsole }, log);
      await assert.rejects(collectPgBouncerSamples(session, "", PORT), /host must not be empty/);
      await assert.rejects(collectPgBouncerSamples(session, HOST, " "), /port must not be empty/);
      assert.deepEqual(log, []);
    });

    await t.step("PgBouncer gone: both commands fail, each reported, nothing thrown", async () => {
      await bouncer.stop();
      const issues: CollectionIssue[] = [];
      const samples = await collectPgBouncerSamples(adminConsole, HOST, PORT, (i) => issues.push(i));
      assert.deepEqual(samples, []);
      assert.deepEqual(issues.map((i) => i.component), ["pgbouncer.stats", "pgbouncer.pools"]);
      for (const i of issues) {
        assert.match(i.message, /on the PgBouncer admin console at bouncer\.example:6432/);
      }
    });
  } finally {
    await cm.close();
    await pg.close();
  }
});
