import assert from "node:assert/strict";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { startQueryLensCluster } from "../../../tests/support/querylens.ts";
import { WaitEventNames } from "./wait_names.ts";

Deno.test("WaitEventNames: the server names raw wait_event_info values, once each", async () => {
  await using cluster = await startQueryLensCluster({ name: "qlwaitnames" });
  const cm = clusterConnections(cluster);
  try {
    const sql = cm.sql("postgres");
    // The values of Lock:transactionid (class 0x03) and Timeout:PgSleep (class 0x09) in this server.
    const find = async (cls: number, event: string) => {
      const [r] = await sql.unsafe(
        `SELECT ($1::int << 24) | e AS info FROM generate_series(0, 31) e
         WHERE (pg_querylens_wait_event_name(($1::int << 24) | e)).wait_event = $2`,
        [cls, event],
      );
      return Number(r.info);
    };
    const lock = await find(3, "transactionid");
    const sleep = await find(9, "PgSleep");
    const names = new WaitEventNames(sql, "public");
    await names.resolve([0, Number(lock), Number(sleep), Number(lock)]);
    assert.equal(names.name(Number(lock)), "Lock:transactionid");
    assert.equal(names.name(Number(sleep)), "Timeout:PgSleep");
    assert.equal(names.name(0), undefined);
    await cluster.stop();
    // Known values are answered from the cache without the (now gone) server.
    await names.resolve([Number(lock), Number(sleep)]);
    await assert.rejects(() => names.resolve([Number(lock) + 1]));
  } finally {
    await cm.close();
  }
});
