import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { initPgbench, parsePgbenchOutput, runPgbench } from "./pgbench.ts";

Deno.test("parsePgbenchOutput reads tps, transactions, failures and latency", () => {
  const text = [
    "transaction type: <builtin: select only>",
    "number of transactions actually processed: 500/500",
    "number of failed transactions: 2 (0.400%)",
    "latency average = 0.123 ms",
    "initial connection time = 3.372 ms",
    "tps = 8123.456789 (without initial connection time)",
  ].join("\n");
  assert.deepEqual(parsePgbenchOutput(text), {
    tps: 8123.456789,
    transactions: 500,
    failed: 2,
    latencyMs: 0.123,
  });
  assert.throws(
    () => parsePgbenchOutput("pgbench: error: connection failed"),
    /pgbench output has no tps line/,
  );
  assert.throws(
    () => parsePgbenchOutput(text.replace(/^latency.*$/m, "")),
    /pgbench output has no latency average/,
  );
});

Deno.test("initPgbench fills the tables and runPgbench reports a real run", async () => {
  await using cluster = await startCluster({ name: "bench-pgbench" });
  await initPgbench(cluster, "postgres", 1);
  const [{ n }] = await cluster.sql()`SELECT count(*)::int AS n FROM pgbench_accounts`;
  assert.equal(n, 100_000);

  const run = await runPgbench(cluster, "postgres", [
    "-S",
    "-M",
    "prepared",
    "-c",
    "2",
    "-j",
    "2",
    "-t",
    "300",
  ], {
    cpus: "0",
  });
  assert.equal(run.transactions, 600);
  assert.equal(run.failed, 0);
  assert.ok(run.tps > 0 && run.latencyMs > 0, JSON.stringify(run));

  await assert.rejects(initPgbench(cluster, "postgres", 0), /scale must be a positive integer: 0/);
  await assert.rejects(
    runPgbench(cluster, "no_such_db", ["-S", "-t", "1"]),
    /pgbench -S -t 1 failed \(\d+\): .*no_such_db/s,
  );
});
