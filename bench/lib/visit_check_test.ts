import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import { restartServer } from "./pg_server.ts";
import { initPgbench, runPgbench } from "./pgbench.ts";
import { configuration, serverSettings } from "./querylens_configs.ts";
import { checkVisit } from "./visit_check.ts";

const where = { round: 3, position: 1 };

Deno.test("checkVisit confirms each configuration from the server's own figures and rejects a wrong one", async () => {
  await using cluster = await startCluster({ name: "bench-visitcheck" });
  await initPgbench(cluster, "postgres", 1);
  const session = async <T>(fn: (sql: ReturnType<typeof cluster.sql>) => Promise<T>) => {
    const sql = cluster.sql();
    try {
      return await fn(sql);
    } finally {
      await sql.end();
    }
  };
  const pgbench = () =>
    runPgbench(cluster, "postgres", ["-S", "-M", "prepared", "-c", "1", "-j", "1", "-t", "200"]);

  await restartServer(cluster, serverSettings(configuration("pgss")));
  await session((sql) => sql`CREATE EXTENSION pg_stat_statements`);
  const { transactions } = await pgbench();
  await session(async (sql) => {
    const check = await checkVisit(sql, configuration("pgss"), { config: "pgss", ...where, transactions });
    assert.equal(check.preload, "pg_stat_statements");
    assert.equal(check.pgssCalls, 200);
    assert.equal(check.querylens, undefined);
    await assert.rejects(
      checkVisit(sql, configuration("none"), { config: "none", ...where, transactions }),
      /^Error: none, round 3: shared_preload_libraries is "pg_stat_statements"$/,
    );
    await assert.rejects(
      checkVisit(sql, configuration("pgss"), { config: "pgss", ...where, transactions: 201 }),
      /pgss, round 3: pg_stat_statements counted 200 calls for 201 transactions/,
    );
  });

  await restartServer(cluster, serverSettings(configuration("ql_ring")));
  await session((sql) => sql`CREATE EXTENSION pg_querylens`);
  await pgbench();
  await session(async (sql) => {
    const check = await checkVisit(sql, configuration("ql_ring"), {
      config: "ql_ring",
      ...where,
      transactions,
    });
    assert.equal(check.preload, "pg_querylens");
    const ql = check.querylens!;
    assert.ok(ql.recordsWritten >= 200 && ql.recordsRead > 0, JSON.stringify(ql));
    assert.deepEqual([ql.samplePeriodMs, ql.samplerRunning, ql.cpuMode, ql.recordsWithCpu], [
      0,
      false,
      "off",
      0,
    ]);
    await assert.rejects(
      checkVisit(sql, configuration("ql_cpu"), { config: "ql_cpu", ...where, transactions }),
      /ql_cpu, round 3: cpu_mode is off/,
    );
    await assert.rejects(
      checkVisit(sql, configuration("ql_sampler"), { config: "ql_sampler", ...where, transactions }),
      /ql_sampler, round 3: sampler: period 0 ms, running false; configured 10 ms/,
    );
  });

  await restartServer(cluster, serverSettings(configuration("ql_cpu")));
  await pgbench();
  await session(async (sql) => {
    const check = await checkVisit(sql, configuration("ql_cpu"), {
      config: "ql_cpu",
      ...where,
      transactions,
    });
    assert.equal(check.querylens!.cpuMode, "thread");
    assert.ok(check.querylens!.recordsWithCpu > 0);
    await assert.rejects(
      checkVisit(sql, configuration("ql_ring"), { config: "ql_ring", ...where, transactions: 1e9 }),
      /ql_ring, round 3: pg_querylens wrote \d+ records for 1000000000 transactions/,
    );
  });
});
