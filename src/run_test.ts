import assert from "node:assert/strict";
import { startCluster } from "../tests/support/cluster.ts";
import { defaultConfig } from "./config/defaults.ts";
import type { Config } from "./config/types.ts";
import { createLogger, IssueReporter } from "./core/log.ts";
import { runCollector } from "./run.ts";

function capture() {
  const lines: string[] = [];
  const logger = createLogger("debug", (l) => lines.push(l));
  return { lines, logger, issues: new IssueReporter(logger) };
}

Deno.test("runCollector refuses modes this build cannot export", async () => {
  for (const mode of ["otel", "hybrid"] as const) {
    const { lines, logger, issues } = capture();
    const config: Config = { ...defaultConfig(), username: "u", password: "p", mode };
    assert.equal(await runCollector(config, logger, issues), 1);
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`^\\[ERROR\\] mode "${mode}": .*--mode=nri`));
  }
});

Deno.test("runCollector against a real server", async (t) => {
  await using cluster = await startCluster({ name: "run" });
  const base: Config = {
    ...defaultConfig(),
    username: "postgres",
    password: cluster.password,
    hostname: cluster.host,
    port: String(cluster.port),
    session: { applicationName: "pgql-run-test", statementTimeoutMs: 5000, lockTimeoutMs: 1000 },
  };
  const sessions = async () =>
    (await cluster
      .sql()`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pgql-run-test'`)[0]
      .n;

  await t.step("one-shot: one cycle, exit code 0, sessions closed", async () => {
    const { lines, logger, issues } = capture();
    assert.equal(await runCollector(base, logger, issues), 0);
    assert.equal(lines.filter((l) => l.startsWith("[DEBUG] cycle took")).length, 1, lines.join("\n"));
    assert.deepEqual(lines.filter((l) => l.startsWith("[ERROR]") || l.startsWith("[WARN]")), []);
    for (let i = 0; (await sessions()) > 0; i++) {
      assert.ok(i < 100, "sessions left open");
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  await t.step("daemon: cycles until SIGTERM, which ends the wait at once", async () => {
    const { lines, logger, issues } = capture();
    const cycles = () => lines.filter((l) => l.startsWith("[DEBUG] cycle took")).length;
    const run = runCollector({ ...base, intervalSeconds: 0.3 }, logger, issues);
    for (let i = 0; cycles() < 2; i++) {
      assert.ok(i < 200, `no second cycle: ${lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const live = await sessions();
    assert.equal(live, 1, "one session reused across cycles");
    const slow = runCollector({ ...base, intervalSeconds: 3600 }, capture().logger, issues);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    Deno.kill(Deno.pid, "SIGTERM");
    assert.deepEqual(await Promise.all([run, slow]), [0, 0]);
    assert.ok(performance.now() - t0 < 2000, "the hour-long wait was cut short");
    for (let i = 0; (await sessions()) > 0; i++) {
      assert.ok(i < 100, "sessions left open");
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
