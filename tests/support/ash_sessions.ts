/**
 * Sessions in known states for active-session-history tests: backends busy on CPU, backends waiting
 * on a row lock, and backends idle in a transaction (one of them holding the lock the waiters want).
 *
 * ```ts
 * await using states = await startSessionStates(cluster, "shop", { busy: 10, waiters: 20, idleInTx: 19 });
 * // states.busyPids, states.waiterPids, states.holderPid, states.idleInTxPids
 * ```
 *
 * Every session is its own one-connection client with postgres.js's application name. A busy
 * session runs a PL/pgSQL loop that waits on nothing (it ends by itself after `busySeconds`, and is
 * cancelled by stop()); the lock holder updates a row and stays idle in its transaction; each waiter
 * updates the same row. {@link startSessionStates} returns once pg_stat_activity shows every
 * session in its state.
 *
 * @module
 */

import type postgres from "postgres";
import type { Cluster } from "./cluster.ts";
import { waitUntil } from "./workload.ts";

/** How many sessions of each kind. */
export interface SessionCounts {
  /** Sessions running a CPU loop (active, no wait event). */
  busy: number;
  /** Sessions waiting for the held row lock (active, wait event type Lock). */
  waiters: number;
  /** Sessions idle in a transaction, besides the lock holder. */
  idleInTx: number;
}

/** Sessions in known states; `await using` stops them. */
export interface SessionStates extends AsyncDisposable {
  /** Backend pids of the busy sessions. */
  busyPids: number[];
  /** Backend pids of the lock waiters. */
  waiterPids: number[];
  /** Backend pid of the lock holder (idle in transaction). */
  holderPid: number;
  /** Backend pids of the other idle-in-transaction sessions. */
  idleInTxPids: number[];
  /** Cancels the busy loops, rolls back every transaction, lets the waiters finish and closes all. */
  stop(): Promise<void>;
}

/** Table the lock is taken on (created in the database if missing). */
export const LOCK_TABLE = "ash_lock_target";

async function pidOf(sql: postgres.Sql | postgres.ReservedSql): Promise<number> {
  return (await sql`SELECT pg_backend_pid() AS pid`)[0].pid as number;
}

/**
 * Opens the sessions of `counts` in `database` and waits until pg_stat_activity shows them all in
 * their states. Busy loops end by themselves after `busySeconds` (default 300).
 *
 * @throws Error when a count is not a non-negative integer, or the states do not appear in time
 */
export async function startSessionStates(
  cluster: Cluster,
  database: string,
  counts: SessionCounts,
  opts: { busySeconds?: number } = {},
): Promise<SessionStates> {
  for (const [k, v] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`startSessionStates: ${k} must be an integer >= 0, got ${v}`);
    }
  }
  const busySeconds = opts.busySeconds ?? 300;
  if (!(Number.isInteger(busySeconds) && busySeconds > 0)) {
    throw new Error(`startSessionStates: busySeconds must be a positive integer, got ${busySeconds}`);
  }
  const clients: postgres.Sql[] = [];
  const client = () => {
    const c = cluster.sql(database);
    clients.push(c);
    return c;
  };
  const admin = client();
  const pending: Promise<unknown>[] = [];
  const reserved: postgres.ReservedSql[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await admin.unsafe("SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid", [busyPids]).catch(
        () => {},
      );
      for (const r of reserved) {
        await r.unsafe("ROLLBACK").catch(() => {});
        r.release();
      }
      await Promise.allSettled(pending);
      await Promise.all(clients.map((c) => c.end({ timeout: 5 }).catch(() => {})));
    })();
  const busyPids: number[] = [];
  const waiterPids: number[] = [];
  const idleInTxPids: number[] = [];
  try {
    await admin.unsafe(
      `CREATE TABLE IF NOT EXISTS ${LOCK_TABLE} (id int PRIMARY KEY, v int NOT NULL);
       INSERT INTO ${LOCK_TABLE} VALUES (1, 0) ON CONFLICT DO NOTHING`,
    );
    for (let i = 0; i < counts.busy; i++) {
      const c = client();
      busyPids.push(await pidOf(c));
      pending.push(
        c.unsafe(
          `DO $$ DECLARE n bigint := 0; stop_at timestamptz := clock_timestamp() + interval '${busySeconds} s';
           BEGIN LOOP n := n + 1; EXIT WHEN n % 100000 = 0 AND clock_timestamp() > stop_at; END LOOP; END $$`,
        ).catch(() => {}),
      );
    }
    const holder = await client().reserve();
    reserved.push(holder);
    const holderPid = await pidOf(holder);
    await holder.unsafe("BEGIN");
    await holder.unsafe(`UPDATE ${LOCK_TABLE} SET v = v + 1 WHERE id = 1`);
    for (let i = 0; i < counts.waiters; i++) {
      const c = client();
      waiterPids.push(await pidOf(c));
      pending.push(c.unsafe(`UPDATE ${LOCK_TABLE} SET v = v + 1 WHERE id = 1`).catch(() => {}));
    }
    for (let i = 0; i < counts.idleInTx; i++) {
      const r = await client().reserve();
      reserved.push(r);
      idleInTxPids.push(await pidOf(r));
      await r.unsafe("BEGIN");
      await r.unsafe("SELECT 1");
    }
    await waitUntil("every session in its state", async () => {
      const rows = await admin.unsafe(
        `SELECT count(*) FILTER (WHERE pid = ANY($1::int[]) AND state = 'active' AND wait_event IS NULL)::int AS busy,
                count(*) FILTER (WHERE pid = ANY($2::int[]) AND wait_event_type = 'Lock')::int AS waiters,
                count(*) FILTER (WHERE pid = ANY($3::int[]) AND state = 'idle in transaction')::int AS idle_tx
           FROM pg_stat_activity`,
        [busyPids, waiterPids, [holderPid, ...idleInTxPids]],
      );
      const r = rows[0];
      return r.busy === counts.busy && r.waiters === counts.waiters && r.idle_tx === counts.idleInTx + 1;
    }, 30_000);
    return { busyPids, waiterPids, holderPid, idleInTxPids, stop, [Symbol.asyncDispose]: stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
