/**
 * The pg_querylens extension on Debian's PostgreSQL 15: records of simple- and extended-protocol
 * executions (query ids as core computes them), nesting, error records, plan ids, wait sampling,
 * CPU time, ring overflow with exact counters, the open-execution limit, crash-restart, shutdown,
 * a missing sampler, consumers, privileges and self-timing. Every check reads what the extension
 * wrote, through its SQL functions or its shared-memory segment.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { type Cluster, startCluster } from "./support/cluster.ts";
import {
  discoveryPath,
  exists,
  parseDiscovery,
  QL_CAP,
  QL_FLAG,
  querylensInfo,
  querylensRings,
  type QueryLensRow,
  readRecords,
  segmentPath,
  startQueryLensCluster,
  stopFast,
  WAIT_CLASS,
  writeReaderPage,
} from "./support/querylens.ts";
import { waitUntil } from "./support/workload.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function backendPid(sql: postgres.Sql): Promise<number> {
  const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`;
  return Number(pid);
}

/** Query id of a statement, as EXPLAIN VERBOSE reports it (core's jumbling). */
async function explainQueryId(sql: postgres.Sql, statement: string): Promise<bigint> {
  const rows = await sql.unsafe(`EXPLAIN (VERBOSE, COSTS OFF) ${statement}`);
  const line = rows.map((r) => String(r["QUERY PLAN"])).find((l) => l.includes("Query Identifier:"));
  assert.ok(line, `no query identifier in EXPLAIN of ${statement}`);
  return BigInt(line.split("Query Identifier:")[1].trim());
}

/** EXPLAIN (COSTS OFF) text of a statement: its plan shape. */
async function planShape(sql: postgres.Sql, statement: string): Promise<string> {
  const rows = await sql.unsafe(`EXPLAIN (COSTS OFF) ${statement}`);
  return rows.map((r) => String(r["QUERY PLAN"])).join("\n");
}

/** Query id pg_stat_statements shows for a normalized text (a LIKE pattern). */
async function pgssQueryId(sql: postgres.Sql, text: string, toplevel: boolean): Promise<bigint> {
  const rows = await sql`
    SELECT queryid::text AS q FROM pg_stat_statements WHERE query LIKE ${text} AND toplevel = ${toplevel}`;
  assert.equal(rows.length, 1, `pg_stat_statements has ${rows.length} entries for ${text}`);
  return BigInt(rows[0].q);
}

function only<T>(items: T[], what: string): T {
  assert.equal(items.length, 1, `expected exactly one ${what}, got ${items.length}`);
  return items[0];
}

function hasFlag(r: QueryLensRow, flag: number): boolean {
  return (r.flags & flag) !== 0;
}

Deno.test("pg_querylens records executions with core's ids, nesting, errors and plan ids", async (t) => {
  await using cluster = await startQueryLensCluster({ name: "qlbasic", before: ["pg_stat_statements"] });
  const o = cluster.sql();
  await o.unsafe(`
    CREATE TABLE items (id int PRIMARY KEY, x int NOT NULL, pad text NOT NULL);
    INSERT INTO items SELECT g, g % 100, repeat('p', 50) FROM generate_series(1, 20000) g;
    CREATE INDEX items_x_idx ON items (x);
    ANALYZE items;
    CREATE TABLE e (x int);
    INSERT INTO e SELECT generate_series(1, 10);
    CREATE FUNCTION nested_count(lim int) RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE n bigint;
      BEGIN SELECT count(*) INTO n FROM items WHERE x < lim; RETURN n; END $$;
    CREATE FUNCTION guarded_div() RETURNS int LANGUAGE plpgsql AS $$
      BEGIN PERFORM 1 / (x - 5) FROM e; RETURN 0;
      EXCEPTION WHEN division_by_zero THEN RETURN -1; END $$;
  `);
  const w = cluster.sql();
  const wpid = await backendPid(w);
  /** Every record of w, as read (consumed) by the consumer "basic". */
  const seenW: QueryLensRow[] = [];
  const readW = async (): Promise<QueryLensRow[]> => {
    const rows = await readRecords(o, "basic", { pid: wpid });
    seenW.push(...rows);
    return rows;
  };
  const info = await querylensInfo(o);
  const [{ dbid, userid, relpages }] = await o`
    SELECT (SELECT oid FROM pg_database WHERE datname = current_database())::int AS dbid,
           (SELECT oid FROM pg_roles WHERE rolname = current_user)::int AS userid,
           (SELECT relpages FROM pg_class WHERE relname = 'items') AS relpages`;

  await t.step("simple and extended protocol executions carry pg_stat_statements' query ids", async () => {
    const t0 = Date.now();
    const [{ count }] = await w.unsafe("SELECT count(*) FROM items WHERE x < 50").simple();
    assert.equal(Number(count), 10000);
    for (const v of [10, 20, 30]) await w`SELECT id, x FROM items WHERE id <= ${v}`;
    const t1 = Date.now();

    const records = await readW();
    const simpleId = await pgssQueryId(o, "SELECT count(*) FROM items WHERE x < $1", true);
    const extendedId = await pgssQueryId(o, "SELECT id, x FROM items WHERE id <= $1", true);
    assert.notEqual(simpleId, extendedId);

    const simple = only(records.filter((r) => r.queryId === simpleId), "simple-protocol record");
    assert.equal(simple.recordType, "query");
    assert.equal(simple.rows, 1);
    assert.equal(simple.cmdType, 1);
    assert.equal(simple.toplevel, true);
    assert.equal(simple.nestingLevel, 0);
    assert.equal(simple.parentQueryId, 0n);
    assert.ok(hasFlag(simple, QL_FLAG.TOPLEVEL) && hasFlag(simple, QL_FLAG.QUERYID), String(simple.flags));
    assert.ok(!hasFlag(simple, QL_FLAG.ABORTED));
    assert.equal(simple.dbid, Number(dbid));
    assert.equal(simple.userid, Number(userid));
    assert.equal(simple.pid, wpid);
    assert.equal(simple.generation, info.generation);
    assert.equal(simple.sqlstate, null);
    assert.ok(
      simple.sharedBlksHit + simple.sharedBlksRead >= Number(relpages),
      `a scan of ${relpages} pages touched ${simple.sharedBlksHit}+${simple.sharedBlksRead} blocks`,
    );
    assert.ok(simple.durationNs > 0 && simple.durationNs < 10e9, String(simple.durationNs));
    const start = simple.startTime.getTime();
    assert.ok(start >= t0 - 1000 && start <= t1 + 1000, `start ${simple.startTime.toISOString()}`);
    // track_io_timing is on in this cluster: the I/O times are there
    assert.ok(hasFlag(simple, QL_FLAG.IO_TIMING) && simple.io !== undefined);
    assert.equal(simple.cpu, undefined, "pg_querylens.cpu is off by default");

    const extended = records.filter((r) => r.queryId === extendedId);
    assert.deepEqual(extended.map((r) => r.rows), [10, 20, 30]);
    assert.ok(extended.every((r) => r.toplevel && r.cmdType === 1 && r.sharedBlksHit > 0));
    assert.equal(new Set(extended.map((r) => r.planId)).size, 1, "one plan for the three executions");
    for (let i = 1; i < extended.length; i++) {
      assert.ok(extended[i].execSeq > extended[i - 1].execSeq);
      assert.ok(extended[i].seq > extended[i - 1].seq);
      assert.equal(extended[i].ring, extended[0].ring);
    }
  });

  await t.step("the query id matches pg_stat_activity and the duration covers the execution", async () => {
    const running = w`SELECT pg_sleep(0.3)`.execute();
    let activityId = 0n;
    await waitUntil("the sleep to show in pg_stat_activity", async () => {
      const rows = await o`
        SELECT query_id::text AS q FROM pg_stat_activity WHERE pid = ${wpid} AND query LIKE 'SELECT pg_sleep%'
          AND state = 'active'`;
      if (rows.length === 1 && rows[0].q !== null) activityId = BigInt(rows[0].q);
      return activityId !== 0n;
    });
    await running;
    const rec = only((await readW()).filter((r) => r.queryId === activityId), "sleep");
    assert.ok(rec.durationNs >= 300e6 && rec.durationNs < 3e9, String(rec.durationNs));
    assert.ok(rec.waitSamples[WAIT_CLASS.Timeout] > 0, JSON.stringify(rec.waitSamples));
    assert.equal(rec.waitEvent, "PgSleep");
  });

  await t.step("a query inside a PL/pgSQL function is nested under the top-level query id", async () => {
    const [{ n }] = await w`SELECT nested_count(30) AS n`;
    assert.equal(Number(n), 6000);
    const records = await readW();
    const topId = await pgssQueryId(o, "SELECT nested_count($1) AS n", true);
    // PL/pgSQL blanks out the INTO clause of the statement text
    const innerId = await pgssQueryId(o, "SELECT count(*) % FROM items WHERE x < lim", false);
    const top = only(records.filter((r) => r.queryId === topId), "top-level record");
    const inner = only(records.filter((r) => r.queryId === innerId), "nested record");
    assert.equal(top.toplevel, true);
    assert.equal(top.nestingLevel, 0);
    assert.equal(top.parentQueryId, 0n);
    assert.equal(top.rows, 1);
    assert.equal(inner.toplevel, false);
    assert.ok(!hasFlag(inner, QL_FLAG.TOPLEVEL));
    assert.equal(inner.nestingLevel, 1);
    assert.equal(inner.parentQueryId, topId);
    assert.equal(inner.rows, 1);
    assert.equal(inner.execSeq, top.execSeq + 1n, "the nested execution starts after the top-level one");
    assert.ok(inner.seq < top.seq, "the nested execution ends first");
    assert.ok(inner.durationNs < top.durationNs);
    assert.ok(inner.startTime.getTime() >= top.startTime.getTime());
  });

  await t.step("an execution ended by an error leaves an error record with its SQLSTATE", async () => {
    // fails on the first row (x = 1), so no row reaches the client before the error
    const failing = "SELECT 1 / (x - 1) FROM e";
    const expectedId = await explainQueryId(o, failing);
    await assert.rejects(w.unsafe(failing), (e: { code?: string }) => e.code === "22012");
    const records = await readW();
    const err = only(records.filter((r) => r.recordType === "error"), "error record");
    assert.equal(err.sqlstate, "22012");
    assert.equal(err.queryId, expectedId);
    assert.ok(hasFlag(err, QL_FLAG.ABORTED) && hasFlag(err, QL_FLAG.TOPLEVEL), String(err.flags));
    assert.equal(err.toplevel, true);
    assert.ok(err.durationNs > 0);
    assert.equal(err.rows, 0);
    assert.ok(err.sharedBlksHit > 0, "buffer use up to the error is kept");
    assert.ok(!records.some((r) => r.recordType === "query" && r.queryId === expectedId));
  });

  await t.step("an error caught by a PL/pgSQL EXCEPTION block is recorded at its nesting level", async () => {
    const [{ v }] = await w`SELECT guarded_div() AS v`;
    assert.equal(v, -1);
    const records = await readW();
    const topId = await pgssQueryId(o, "SELECT guarded_div() AS v", true);
    const top = only(records.filter((r) => r.queryId === topId), "top-level record");
    const err = only(records.filter((r) => r.recordType === "error"), "error record");
    assert.equal(top.recordType, "query");
    assert.equal(top.rows, 1);
    assert.equal(err.sqlstate, "22012");
    assert.equal(err.toplevel, false);
    assert.equal(err.nestingLevel, 1);
    assert.equal(err.parentQueryId, topId);
    assert.ok(hasFlag(err, QL_FLAG.ABORTED));
    assert.ok(err.seq < top.seq);
  });

  await t.step("with track_errors off a failed execution leaves nothing", async () => {
    await w`SET pg_querylens.track_errors = off`;
    await assert.rejects(
      w.unsafe("SELECT 1 / (x - 1) FROM e").simple(),
      (e: { code?: string }) => e.code === "22012",
    );
    await w`RESET pg_querylens.track_errors`;
    await w`SELECT 1 AS after_errors`;
    const records = await readW();
    assert.equal(records.filter((r) => r.recordType === "error").length, 0);
    assert.equal(records.length, 1, "only the SELECT after the error");
  });

  await t.step("WAL and temporary-file counters with their I/O times", async () => {
    await w`INSERT INTO e SELECT generate_series(100, 149)`;
    await w`SET work_mem = '64kB'`;
    await w`SELECT count(*) FROM (SELECT x FROM items ORDER BY pad, x DESC OFFSET 0) s`;
    await w`RESET work_mem`;
    const records = await readW();
    const insert = only(records.filter((r) => r.cmdType === 3), "insert");
    assert.equal(insert.rows, 50);
    assert.ok(insert.walRecords >= 50 && insert.walBytes > 0, `${insert.walRecords} ${insert.walBytes}`);
    const sort = only(records.filter((r) => r.tempBlksWritten > 0), "sort");
    assert.ok(sort.tempBlksRead > 0);
    assert.ok(sort.io !== undefined && sort.io.tempWriteUs > 0, JSON.stringify(sort.io));
  });

  await t.step("plan ids ignore parameter values and costs, and change with the plan", async () => {
    const stmt = (v: number) => `SELECT id FROM items WHERE x = ${v}`;
    await w`SET plan_cache_mode = force_custom_plan`;
    for (const v of [1, 2, 3, 4]) await w`SELECT id FROM items WHERE x = ${v}`;
    const custom = await readW();
    await w`SET plan_cache_mode = force_generic_plan`;
    for (const v of [5, 6, 7]) await w`SELECT id FROM items WHERE x = ${v}`;
    const generic = await readW();
    await w`RESET plan_cache_mode`;
    assert.deepEqual(custom.map((r) => r.rows), [200, 200, 200, 200]);
    assert.deepEqual(generic.map((r) => r.rows), [200, 200, 200]);
    assert.equal(new Set([...custom, ...generic].map((r) => r.queryId)).size, 1, "one prepared statement");
    assert.equal(new Set(custom.map((r) => r.planId)).size, 1, "custom plans for the values 1..4");
    assert.equal(new Set(generic.map((r) => r.planId)).size, 1, "the generic plan, reused");

    await w.unsafe(stmt(8)).simple();
    const literal = only(await readW(), "simple-protocol execution");
    assert.equal(literal.queryId, await explainQueryId(o, stmt(8)));
    assert.equal(literal.planId, custom[0].planId, "a literal 8 plans like the parameters 1..4");

    const shapeBefore = await planShape(w, stmt(9));
    const costsBefore = (await w.unsafe(`EXPLAIN ${stmt(9)}`)).map((r) => r["QUERY PLAN"]).join("\n");
    await w`SET cpu_operator_cost = 0.004`;
    const costsAfter = (await w.unsafe(`EXPLAIN ${stmt(9)}`)).map((r) => r["QUERY PLAN"]).join("\n");
    assert.equal(await planShape(w, stmt(9)), shapeBefore);
    assert.notEqual(costsAfter, costsBefore);
    await w.unsafe(stmt(9)).simple();
    await w`RESET cpu_operator_cost`;
    const costly = only(await readW(), "execution with other costs");
    assert.equal(costly.planId, literal.planId, "other costs, same shape, same plan id");
    assert.match(shapeBefore, /items_x_idx/);

    // EXPLAIN (never executing) gives the same identity as the records: a plan has one id.
    const fresh = cluster.sql();
    assert.equal((await fresh`SELECT pg_querylens_explain_planid() AS p`)[0].p, null, "no EXPLAIN yet");
    await w.unsafe(`EXPLAIN ${stmt(9)}`);
    const [{ p: explained }] = await w`SELECT pg_querylens_explain_planid()::text AS p`;
    assert.equal(BigInt(explained), literal.planId, "EXPLAIN of a literal: the literal's plan id");
    await w.unsafe("PREPARE ql_generic(int) AS SELECT id FROM items WHERE x = $1");
    await w`SET plan_cache_mode = force_generic_plan`;
    await w.unsafe("EXPLAIN EXECUTE ql_generic(NULL)");
    await w`RESET plan_cache_mode`;
    await w.unsafe("DEALLOCATE ql_generic");
    const [{ p: explainedGeneric }] = await w`SELECT pg_querylens_explain_planid()::text AS p`;
    assert.equal(BigInt(explainedGeneric), generic[0].planId, "EXPLAIN EXECUTE of the generic plan");
    // Only the two SELECTs of pg_querylens_explain_planid() executed: EXPLAIN without ANALYZE is no execution.
    assert.deepEqual((await readW()).map((r) => r.rows), [1, 1]);

    await w`SELECT id FROM items WHERE id = ${5}`;
    const pkey = only(await readW(), "primary-key lookup");
    assert.notEqual(pkey.planId, literal.planId, "another index, another plan id");

    await o`DROP INDEX items_x_idx`;
    assert.match(await planShape(w, stmt(3)), /Seq Scan on items/);
    await w.unsafe(stmt(3)).simple();
    const after = only(await readW(), "execution after DROP INDEX");
    assert.equal(after.rows, 200);
    assert.equal(after.queryId, literal.queryId);
    assert.notEqual(after.planId, literal.planId, "a sequential scan is another plan");
    assert.ok(!hasFlag(after, QL_FLAG.PLAN_TRUNCATED));
  });

  await t.step("consumers keep their own cursors; peeking moves nothing", async () => {
    await w`SELECT 1 AS one`;
    await w`SELECT 2 AS two`;
    const peek1 = await readRecords(o, "basic", { pid: wpid, consume: false });
    const peek2 = await readRecords(o, "basic", { pid: wpid, consume: false });
    assert.equal(peek1.length, 2);
    assert.deepEqual(peek2.map((r) => r.seq), peek1.map((r) => r.seq));
    const taken = await readW();
    assert.deepEqual(taken.map((r) => r.seq), peek1.map((r) => r.seq));
    assert.equal((await readW()).length, 0);
    // a new consumer starts with the oldest record each ring still holds: all of w's
    const fresh = await readRecords(o, "other", { pid: wpid });
    assert.ok(seenW.length >= 25, String(seenW.length));
    assert.deepEqual(fresh.map((r) => r.seq), seenW.map((r) => r.seq));
    // max_rows bounds one call; the next call continues where it stopped
    const a = await readRecords(o, "small", { maxRows: 3 });
    const b = await readRecords(o, "small", { maxRows: 3 });
    assert.equal(a.length, 3);
    assert.equal(b.length, 3);
    const keys = new Set([...a, ...b].map((r) => `${r.ring}/${r.seq}`));
    assert.equal(keys.size, 6, "no record is returned twice");
    const consumers = await o`SELECT * FROM pg_querylens_consumers() ORDER BY consumer`;
    assert.deepEqual(consumers.map((c) => c.consumer), ["basic", "other", "small"]);
    assert.ok(
      consumers.every((c) => Number(c.records_lost) === 0 && Number(c.generation) === info.generation),
    );
    assert.equal(Number(consumers.find((c) => c.consumer === "small")!.records_read), 6);
    await o`SELECT pg_querylens_reset_counters()`;
    const reset = await o`SELECT sum(records_read)::int AS n FROM pg_querylens_consumers()`;
    assert.equal(reset[0].n, 0);
  });

  await t.step("EXECUTE is granted to pg_read_all_stats only, resets stay the superuser's", async () => {
    await cluster.createRole("reader", "reader-secret", { grants: ["pg_read_all_stats"] });
    await cluster.createRole("nobody", "nobody-secret");
    const reader = roleClient(cluster, "reader", "reader-secret");
    const nobody = roleClient(cluster, "nobody", "nobody-secret");
    try {
      const rows = await reader`SELECT count(*) AS n FROM pg_querylens_read(10, 'reader', false)`;
      assert.ok(Number(rows[0].n) > 0);
      await reader`SELECT * FROM pg_querylens_info()`;
      await assert.rejects(nobody`SELECT * FROM pg_querylens_info()`, /permission denied/);
      await assert.rejects(nobody`SELECT * FROM pg_querylens_read()`, /permission denied/);
      // Resets are the superuser's: a monitoring role reads, it does not reset.
      await assert.rejects(reader`SELECT pg_querylens_reset_counters()`, /permission denied/);
      await assert.rejects(reader`SELECT pg_querylens_self_timing_reset()`, /permission denied/);
    } finally {
      await reader.end();
      await nobody.end();
    }
  });

  await t.step("bad arguments and the consumer limit are reported", async () => {
    await assert.rejects(
      o`SELECT * FROM pg_querylens_read(-1)`,
      /max_rows must be between 0 and 100000, got -1/,
    );
    await assert.rejects(o`SELECT * FROM pg_querylens_read(100001)`, /max_rows must be between 0 and 100000/);
    await assert.rejects(o`SELECT * FROM pg_querylens_read(10, '')`, /consumer name must have 1 to 63 bytes/);
    for (let i = 0; i < 13; i++) await o.unsafe(`SELECT count(*) FROM pg_querylens_read(0, 'c${i}')`);
    await assert.rejects(o`SELECT * FROM pg_querylens_read(0, 'one-too-many')`, /no room for consumer/);
    // peeking does not create a consumer, so it still works
    await o`SELECT count(*) FROM pg_querylens_read(1, 'one-too-many', false)`;
  });

  await t.step("self-timing counts every hook call and their mean cost", async () => {
    await w`SET pg_querylens.self_timing = on`;
    await w`SELECT pg_querylens_self_timing_reset()`;
    for (let i = 0; i < 200; i++) await w`SELECT ${i}::int AS i`;
    const rows = await w`SELECT * FROM pg_querylens_self_timing() ORDER BY hook`;
    await w`RESET pg_querylens.self_timing`;
    const by = Object.fromEntries(rows.map((r) => [r.hook, r]));
    // 200 selects, the reset's end and this call's start
    assert.equal(Number(by.executor_start.calls), 201);
    assert.equal(Number(by.executor_end.calls), 201);
    for (const hook of ["executor_start", "executor_end"]) {
      const mean = Number(by[hook].mean_ns);
      assert.ok(mean > 0 && mean < 50_000, `${hook} mean ${mean} ns`);
      assert.ok(Math.abs(Number(by[hook].total_ns) / Number(by[hook].calls) - mean) < 1);
      console.log(`self-timing ${hook}: ${mean.toFixed(0)} ns per call`);
    }
    const off = await w`SELECT calls FROM pg_querylens_self_timing() WHERE hook = 'executor_end'`;
    // the previous call's end was still timed; nothing after RESET is
    assert.equal(Number(off[0].calls), 202);
  });
});

/** A postgres.js client logging in to the cluster as another role. */
function roleClient(cluster: Cluster, user: string, password: string): postgres.Sql {
  return postgres({
    host: cluster.host,
    port: cluster.port,
    user,
    password,
    database: "postgres",
    max: 1,
    onnotice: () => {},
  });
}

Deno.test("pg_querylens samples waits per execution and measures CPU time", async (t) => {
  await using cluster = await startQueryLensCluster({
    name: "qlwaits",
    settings: { track_io_timing: "off", "pg_querylens.sample_period": "10" },
  });
  const o = cluster.sql();
  await o.unsafe(`
    CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
    INSERT INTO t SELECT g, 0 FROM generate_series(1, 10) g;
  `);
  const w = cluster.sql();
  const wpid = await backendPid(w);
  const seen: QueryLensRow[] = [];
  const readW = async (): Promise<QueryLensRow[]> => {
    const rows = await readRecords(o, "waits", { pid: wpid });
    seen.push(...rows);
    return rows;
  };
  const largestClass = (r: QueryLensRow) => r.waitSamples.indexOf(Math.max(...r.waitSamples));

  await t.step("the sampler runs and says so", async () => {
    const info = await querylensInfo(o);
    assert.ok(info.samplerPid !== null);
    const title = await Deno.readTextFile(`/proc/${info.samplerPid}/cmdline`);
    assert.match(title, /pg_querylens sampler/);
    assert.equal(info.samplePeriodMs, 10);
    assert.ok(
      info.capabilities & QL_CAP.SAMPLER && info.capabilities & QL_CAP.ERRORS,
      String(info.capabilities),
    );
    assert.equal(info.capabilities & QL_CAP.IO_TIMING, 0, "track_io_timing is off");
    assert.ok(Math.abs(info.samplerHeartbeat!.getTime() - Date.now()) < 2000);
    await sleep(300);
    const later = await querylensInfo(o);
    assert.ok(
      later.samplerPasses >= info.samplerPasses + 10,
      `${info.samplerPasses} -> ${later.samplerPasses}`,
    );
  });

  await t.step("an UPDATE blocked by a row lock shows Lock samples", async () => {
    const holderClient = cluster.sql();
    const holder = await holderClient.reserve();
    try {
      await holder.unsafe("BEGIN");
      await holder.unsafe("SELECT * FROM t WHERE id = 1 FOR UPDATE");
      let failure: unknown;
      const blocked = w`UPDATE t SET v = v + 1 WHERE id = 1`.then(() => {}, (e) => (failure = e));
      await waitUntil("the update to wait on the row lock", async () => {
        const rows = await o`SELECT 1 FROM pg_stat_activity WHERE pid = ${wpid} AND wait_event_type = 'Lock'`;
        return rows.length === 1;
      });
      await sleep(1500);
      await holder.unsafe("COMMIT");
      await blocked;
      assert.equal(failure, undefined);
    } finally {
      holder.release();
      await holderClient.end();
    }
    const rec = only((await readW()).filter((r) => r.cmdType === 2), "update");
    assert.equal(rec.rows, 1);
    assert.ok(rec.durationNs >= 1.5e9, String(rec.durationNs));
    assert.ok(hasFlag(rec, QL_FLAG.WAITS));
    assert.ok(rec.waitSamples[WAIT_CLASS.Lock] >= 50, JSON.stringify(rec.waitSamples));
    assert.equal(largestClass(rec), WAIT_CLASS.Lock);
    assert.equal(rec.waitEventType, "Lock");
    assert.equal(rec.waitEvent, "transactionid");
    const [names] = await o`SELECT * FROM pg_querylens_wait_event_name(${rec.waitEventLast}::int)`;
    assert.deepEqual({ ...names }, { wait_event_type: "Lock", wait_event: "transactionid" });
  });

  await t.step("pg_sleep shows Timeout samples", async () => {
    await w`SELECT pg_sleep(0.5)`;
    const rec = only(await readW(), "sleep");
    assert.ok(rec.waitSamples[WAIT_CLASS.Timeout] >= 20, JSON.stringify(rec.waitSamples));
    assert.equal(largestClass(rec), WAIT_CLASS.Timeout);
    assert.equal(rec.waitEventType, "Timeout");
    assert.equal(rec.waitEvent, "PgSleep");
  });

  await t.step("a CPU-bound query shows CPU samples and, with cpu = thread, its CPU time", async () => {
    await w`SET pg_querylens.cpu = thread`;
    await w`SELECT count(*) FROM generate_series(1, 4000) a, generate_series(1, 1000) b WHERE (a # b) % 7 = 3`;
    await w`RESET pg_querylens.cpu`;
    const rec = only(await readW(), "cpu loop");
    assert.ok(rec.waitSamples[WAIT_CLASS.CPU] >= 10, JSON.stringify(rec.waitSamples));
    assert.equal(largestClass(rec), WAIT_CLASS.CPU);
    assert.ok(hasFlag(rec, QL_FLAG.CPU_VALID) && rec.cpu !== undefined);
    // the loop needs a few hundred ms of CPU however busy the machine is; it cannot exceed the wall time
    const cpuUs = rec.cpu.userUs + rec.cpu.sysUs;
    const wallUs = rec.durationNs / 1000;
    assert.ok(cpuUs >= 50_000 && cpuUs <= wallUs + 20_000, `cpu ${cpuUs} us, wall ${wallUs} us`);
  });

  await t.step("cpu = sampled measures every Nth execution", async () => {
    await w`SET pg_querylens.cpu = sampled`;
    await w`SET pg_querylens.cpu_sample_every = 3`;
    for (let i = 0; i < 6; i++) await w`SELECT ${i}::int AS i`;
    await w`RESET pg_querylens.cpu`;
    await w`RESET pg_querylens.cpu_sample_every`;
    await w`SELECT 'off' AS cpu`;
    const recs = await readW();
    assert.deepEqual(recs.map((r) => r.cpu !== undefined), [false, false, true, false, false, true, false]);
  });

  await t.step("without track_io_timing records carry no I/O times", () => {
    assert.ok(seen.length >= 10);
    assert.ok(seen.every((r) => r.io === undefined && !hasFlag(r, QL_FLAG.IO_TIMING)));
  });
});

Deno.test("pg_querylens rings overwrite their oldest records and count exactly what was lost", async (t) => {
  const slots = 16;
  await using cluster = await startQueryLensCluster({
    name: "qloverflow",
    settings: { "pg_querylens.ring_slots": String(slots) },
  });
  const o = cluster.sql();
  const opid = await backendPid(o);
  const w = cluster.sql();
  const wpid = await backendPid(w);
  const segment = segmentPath(cluster.port);
  const ringOf = async (pid: number) => {
    const ring = (await querylensRings(o)).find((r) => r.pid === pid);
    assert.ok(ring, `no ring for pid ${pid}`);
    return ring;
  };
  const runW = async (n: number) => {
    for (let i = 0; i < n; i++) await w`SELECT ${i}::int AS i`;
  };

  await t.step("overwritten_unread counts records lapped before the external reader read them", async () => {
    const before = await ringOf(wpid);
    const cursor = before.head + 40;
    await writeReaderPage(segment, { readerPid: 4242, cursors: new Map([[before.ring, BigInt(cursor)]]) });
    assert.equal((await querylensInfo(o)).readerPid, 4242);
    await runW(100);
    const after = await ringOf(wpid);
    assert.equal(after.head, before.head + 100);
    // record n is overwritten by record n + slots; it is counted when n >= the reader's cursor
    assert.equal(after.overwrittenUnread, after.head - (cursor + slots));
    const others = (await querylensRings(o)).filter((r) => r.ring !== after.ring);
    assert.ok(others.every((r) => r.head <= slots && r.overwrittenUnread === 0), JSON.stringify(others));
    assert.equal((await querylensInfo(o)).overwrittenUnread, after.overwrittenUnread);
    const warnings = cluster.logTail(500).split("\n")
      .filter((l) => l.includes(`process ${wpid} overwrote records of its ring`));
    assert.equal(warnings.length, 1, "warned once");
    await writeReaderPage(segment, { readerPid: 0 });
    await runW(20);
    assert.equal(
      (await ringOf(wpid)).overwrittenUnread,
      after.overwrittenUnread,
      "no reader, nothing counted",
    );
  });

  await t.step("a consumer that falls behind counts its lost records exactly", async () => {
    const rings = await querylensRings(o);
    // the reading session's own ring gains a record (the call above) before it reads
    const heads = rings.map((r) => ({ ...r, head: r.pid === opid ? r.head + 1 : r.head }));
    assert.ok(heads.every((r) => r.pid === wpid || r.head <= slots), "only w's ring wraps");
    const expectedLost = heads.reduce((sum, r) => sum + Math.max(0, r.head - slots), 0);
    const wRing = rings.find((r) => r.pid === wpid)!;
    const recs = await readRecords(o, "late");
    const fromW = recs.filter((r) => r.ring === wRing.ring);
    assert.deepEqual(
      fromW.map((r) => Number(r.seq)),
      Array.from({ length: slots }, (_, i) => wRing.head - slots + i),
    );
    for (const r of heads) {
      assert.equal(recs.filter((x) => x.ring === r.ring).length, Math.min(r.head, slots), `ring ${r.ring}`);
    }
    const lostOf = async () =>
      Number(
        (await o`SELECT records_lost FROM pg_querylens_consumers() WHERE consumer = 'late'`)[0].records_lost,
      );
    assert.equal(await lostOf(), expectedLost);

    await runW(5);
    assert.equal((await readRecords(o, "late", { pid: wpid })).length, 5);
    assert.equal(await lostOf(), expectedLost);
    await runW(20);
    assert.equal((await readRecords(o, "late", { pid: wpid })).length, slots);
    assert.equal(await lostOf(), expectedLost + 20 - slots);
  });

  await t.step("executions beyond the open-execution table are counted as dropped", async () => {
    const before = await ringOf(wpid);
    await w.begin(async (tx) => {
      for (let i = 0; i < 40; i++) await tx.unsafe(`DECLARE c${i} CURSOR FOR SELECT ${i} AS v`);
    });
    const after = await ringOf(wpid);
    assert.equal(after.dropped - before.dropped, 8, "32 are tracked, 8 are not");
    assert.equal(after.head - before.head, 32, "the tracked ones are written when the cursors close");
    const recs = await readRecords(o, "late", { pid: wpid });
    assert.equal(recs.length, slots);
    assert.ok(recs.every((r) => r.nestingLevel === 1 && !r.toplevel), "a cursor runs under DECLARE");
    assert.equal((await querylensInfo(o)).dropped, after.dropped);
  });

  await t.step("counters can be reset and the server is unharmed", async () => {
    await o`SELECT pg_querylens_reset_counters()`;
    const info = await querylensInfo(o);
    assert.equal(info.overwrittenUnread, 0);
    assert.equal(info.dropped, 0);
    assert.equal(info.state, "ready");
    assert.ok(!cluster.logTail(500).includes("terminated by signal"));
  });
});

Deno.test("pg_querylens survives a backend crash under a new generation and cleans up at shutdown", async (t) => {
  await using cluster = await startQueryLensCluster({
    name: "qlcrash",
    // commits must reach the WAL before the crash, or crash recovery forgets CREATE EXTENSION
    settings: { "pg_querylens.segment_mode": "0640", synchronous_commit: "on" },
  });
  const segment = segmentPath(cluster.port);
  const discovery = discoveryPath(cluster);
  const o = cluster.sql();
  const info = await querylensInfo(o);

  await t.step("the segment, its header and the discovery file agree", async () => {
    const stat = await Deno.stat(segment);
    assert.equal(stat.size, info.segmentSize);
    assert.equal(stat.mode! & 0o777, 0o640);
    assert.equal((await Deno.stat(discovery)).mode! & 0o777, 0o644);
    assert.equal((await o`SHOW pg_querylens.segment_mode`)[0]["pg_querylens.segment_mode"], "0640");
    const postmasterPid = Number(
      (await Deno.readTextFile(`${cluster.dataDir}/postmaster.pid`)).split("\n")[0],
    );
    assert.deepEqual(parseDiscovery(await Deno.readTextFile(discovery)), {
      segment_name: `/pg_querylens.${cluster.port}`,
      segment_size: String(info.segmentSize),
      layout_version: "1",
      slot_size: "256",
      slots_per_ring: "1024",
      nrings: String(info.nrings),
      postmaster_pid: String(postmasterPid),
    });
    assert.equal(info.postmasterPid, postmasterPid);
    assert.equal(info.segmentName, `/pg_querylens.${cluster.port}`);
    const header = new DataView((await Deno.readFile(segment)).buffer, 0, 4096);
    assert.equal(new TextDecoder().decode(new Uint8Array(header.buffer, 0, 7)), "PGQLENS");
    assert.equal(header.getUint32(8, true), 1);
    assert.equal(Number(header.getBigUint64(72, true)), info.generation);
    assert.equal(info.generation, 1);
    assert.equal(info.state, "ready");
  });

  await t.step("killing a backend resets the rings under the next generation", async () => {
    const w = cluster.sql();
    const wpid = await backendPid(w);
    for (let i = 0; i < 20; i++) await w`SELECT ${i}::int AS i`;
    assert.ok((await querylensInfo(o)).recordsWritten >= 20);
    const victim = cluster.sql();
    const vpid = await backendPid(victim);
    const sleeping = victim`SELECT pg_sleep(30)`.then(() => "finished", () => "failed");
    await waitUntil(
      "the victim to sleep",
      async () =>
        (await o`SELECT 1 FROM pg_stat_activity WHERE pid = ${vpid} AND wait_event = 'PgSleep'`).length === 1,
    );
    Deno.kill(vpid, "SIGKILL");
    assert.equal(await sleeping, "failed");
    let after = info;
    let lastError: unknown;
    await waitUntil("the server to come back", async () => {
      const c = cluster.sql();
      try {
        after = await querylensInfo(c);
        return after.generation > info.generation;
      } catch (err) {
        lastError = err;
        return false;
      } finally {
        await c.end();
      }
    }, 60_000).catch((err) => {
      throw new Error(`${err.message}: ${lastError}\n${cluster.logTail(30)}`);
    });
    assert.equal(after.generation, info.generation + 1);
    assert.equal(after.state, "ready");
    assert.ok(after.recordsWritten < 20, `${after.recordsWritten} records survived the reset`);

    const fresh = cluster.sql();
    const fpid = await backendPid(fresh);
    await fresh`SELECT 42 AS answer`;
    const recs = await readRecords(fresh, "after-crash");
    assert.ok(recs.every((r) => r.generation === after.generation), "only records of the new generation");
    assert.ok(!recs.some((r) => r.pid === wpid || r.pid === vpid));
    assert.ok(recs.some((r) => r.pid === fpid && r.rows === 1 && r.toplevel), "new executions are recorded");
    assert.match(cluster.logTail(200), /pg_querylens: shared memory segment "[^"]+" reset, generation 2/);
  });

  await t.step("a fast shutdown removes the segment and the discovery file", async () => {
    assert.ok(exists(segment) && exists(discovery));
    await stopFast(cluster);
    assert.ok(!exists(segment), `${segment} is still there`);
    assert.ok(!exists(discovery), `${discovery} is still there`);
  });
});

Deno.test("pg_querylens without a wait sampler still records, without wait samples", async () => {
  await using cluster = await startQueryLensCluster({
    name: "qlnosampler",
    settings: { max_worker_processes: "0" },
  });
  const o = cluster.sql();
  const info = await querylensInfo(o);
  assert.equal(info.samplerPid, null);
  assert.equal(info.samplerPasses, 0);
  assert.equal(info.capabilities & QL_CAP.SAMPLER, 0);
  assert.match(cluster.logTail(200), /pg_querylens: the wait sampler could not be registered/);
  const w = cluster.sql();
  const wpid = await backendPid(w);
  await w`SELECT pg_sleep(0.2)`;
  const recs = await readRecords(o, "nosampler", { pid: wpid });
  assert.ok(recs.length >= 2);
  for (const r of recs) {
    assert.ok(!hasFlag(r, QL_FLAG.WAITS), String(r.flags));
    assert.deepEqual(r.waitSamples, [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(r.waitEventLast, 0);
  }
  assert.ok(recs.at(-1)!.durationNs >= 200e6, "the sleep is recorded");
});

Deno.test("pg_stat_statements loaded after pg_querylens still times executions", async () => {
  await using cluster = await startQueryLensCluster({ name: "qlorder", after: ["pg_stat_statements"] });
  const w = cluster.sql();
  const wpid = await backendPid(w);
  await w`SELECT pg_sleep(0.2)`;
  const o = cluster.sql();
  const [pgss] = await o`
    SELECT queryid::text AS q, total_exec_time, shared_blks_hit FROM pg_stat_statements
     WHERE query = 'SELECT pg_sleep($1)'`;
  assert.ok(Number(pgss.total_exec_time) >= 200, `pg_stat_statements saw ${pgss.total_exec_time} ms`);
  const rec = only(
    (await readRecords(o, "order", { pid: wpid })).filter((r) => r.queryId === BigInt(pgss.q)),
    "sleep",
  );
  assert.ok(rec.durationNs >= 200e6);
});

Deno.test("pg_querylens refuses to load outside shared_preload_libraries", async () => {
  await using cluster = await startCluster({ name: "qlnopreload" });
  await assert.rejects(
    cluster.createExtension("postgres", "pg_querylens"),
    /pg_querylens must be loaded via shared_preload_libraries/,
  );
});
