/**
 * A scripted workload that makes every query-performance-monitoring signal appear on a test cluster:
 * slow statements in pg_stat_statements, a held row lock with a blocked session, and a stream of
 * sleep and lock waits for wait-event sampling.
 *
 * Every statement carries a marker comment `pgql_workload:<name>` so tests can find it in
 * pg_stat_statements and pg_stat_activity.
 *
 * @module
 */

import type postgres from "postgres";
import type { Cluster } from "./cluster.ts";

/** Prefix of the marker comment each workload statement carries. */
export const WORKLOAD_MARKER = "pgql_workload";

/** Rows created by {@link setupWorkloadSchema}. */
export const WORKLOAD_CUSTOMERS = 1000;
/** Rows created in `orders` by {@link setupWorkloadSchema}. */
export const WORKLOAD_ORDERS = 50_000;

/** Every statement of {@link runSlowStatements} spends at least this long (ms) in `pg_sleep`. */
export const SLOW_STATEMENT_MIN_MS = 8;

/** Longest time the workload helpers wait for a condition or run in the background (ms). */
const MAX_WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The marker comment (`pgql_workload:<name>` in a block comment) for a statement name. */
export function workloadMarker(name: string): string {
  return `/* ${WORKLOAD_MARKER}:${name} */`;
}

/**
 * Creates (or recreates) `customers` and `orders` in a database and fills them with deterministic
 * data: {@link WORKLOAD_CUSTOMERS} customers in four regions and {@link WORKLOAD_ORDERS} orders,
 * with an index on `orders.customer_id`. Ends with ANALYZE.
 */
export async function setupWorkloadSchema(cluster: Cluster, database: string): Promise<void> {
  const sql = cluster.sql(database);
  try {
    await sql.unsafe(`
      DROP TABLE IF EXISTS orders, customers;
      CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, region text NOT NULL);
      CREATE TABLE orders (
        id serial PRIMARY KEY,
        customer_id int NOT NULL,
        amount numeric(12, 2) NOT NULL,
        note text
      );
      INSERT INTO customers (name, region)
        SELECT 'customer ' || g, (ARRAY['north', 'south', 'east', 'west'])[g % 4 + 1]
        FROM generate_series(1, ${WORKLOAD_CUSTOMERS}) g;
      INSERT INTO orders (customer_id, amount, note)
        SELECT g % ${WORKLOAD_CUSTOMERS} + 1, (g % 997) / 10.0, 'order ' || g
        FROM generate_series(1, ${WORKLOAD_ORDERS}) g;
      CREATE INDEX orders_customer_id_idx ON orders (customer_id);
      ANALYZE customers, orders;
    `);
  } finally {
    await sql.end();
  }
}

/** How a statement reaches the server. */
export type Protocol = "simple" | "extended";

/** One statement kind of {@link runSlowStatements}. */
export interface SlowStatement {
  /** Marker name (the statement text contains `pgql_workload:<name>`). */
  name: string;
  /** Command tag of the statement. */
  command: "SELECT" | "INSERT" | "UPDATE" | "DELETE";
  /** Simple query protocol (literals inlined) or extended protocol (bound parameters). */
  protocol: Protocol;
  /** Runs execution number `i` (0-based); literals or parameters vary with `i`. */
  run(sql: postgres.Sql, i: number): Promise<unknown>;
}

/**
 * A predicate that sleeps once per execution: an uncorrelated sub-select becomes an InitPlan gating
 * the whole plan, so it runs even when no row matches (`pg_sleep` returns a non-null void).
 */
const pause = `(SELECT pg_sleep(${SLOW_STATEMENT_MIN_MS / 1000})) IS NOT NULL`;

/** The distinct slow statements: seq-scan aggregate, join, sleep, and one of each DML command. */
export const SLOW_STATEMENTS: readonly SlowStatement[] = [
  {
    name: "aggregate_by_customer",
    command: "SELECT",
    protocol: "simple",
    run: (sql, i) =>
      sql.unsafe(
        `${workloadMarker("aggregate_by_customer")} SELECT customer_id, count(*), sum(amount) ` +
          `FROM orders WHERE amount > ${(i % 50) + 1} AND ${pause} ` +
          `GROUP BY customer_id ORDER BY 3 DESC LIMIT 10`,
      ),
  },
  {
    name: "region_join",
    command: "SELECT",
    protocol: "extended",
    run: (sql, i) =>
      sql.unsafe(
        `${workloadMarker("region_join")} SELECT c.region, count(*), sum(o.amount) ` +
          `FROM customers c JOIN orders o ON o.customer_id = c.id ` +
          `WHERE c.region = $1 AND ${pause} GROUP BY c.region`,
        [["north", "south", "east", "west"][i % 4]],
      ),
  },
  {
    name: "sleep_select",
    command: "SELECT",
    protocol: "simple",
    run: (sql, i) => sql.unsafe(`${workloadMarker("sleep_select")} SELECT pg_sleep(0.02), ${i} AS tag`),
  },
  {
    name: "insert_order",
    command: "INSERT",
    protocol: "extended",
    run: (sql, i) =>
      sql.unsafe(
        `${workloadMarker("insert_order")} INSERT INTO orders (customer_id, amount, note) ` +
          `SELECT $1, $2, 'workload' WHERE ${pause}`,
        [(i % WORKLOAD_CUSTOMERS) + 1, (i % 100) + 0.5],
      ),
  },
  {
    name: "update_customer_orders",
    command: "UPDATE",
    protocol: "simple",
    run: (sql, i) =>
      sql.unsafe(
        `${workloadMarker("update_customer_orders")} UPDATE orders SET note = 'touched ${i}' ` +
          `WHERE customer_id = ${
            (i % WORKLOAD_CUSTOMERS) + 1
          } AND note IS DISTINCT FROM 'workload' AND ${pause}`,
      ),
  },
  {
    name: "delete_workload_order",
    command: "DELETE",
    protocol: "extended",
    run: (sql, _i) =>
      sql.unsafe(
        `${workloadMarker("delete_workload_order")} DELETE FROM orders ` +
          `WHERE id IN (SELECT id FROM orders WHERE note = $1 ORDER BY id DESC LIMIT 1) AND ${pause}`,
        ["workload"],
      ),
  },
];

/** What {@link runSlowStatements} ran. */
export interface SlowStatementRun {
  /** The statement kind. */
  statement: SlowStatement;
  /** How many times it ran. */
  executions: number;
  /** Shortest client-side duration of one execution, in milliseconds. */
  minClientMs: number;
}

/**
 * Runs every statement of {@link SLOW_STATEMENTS} `count` times (default 3) in a database prepared
 * by {@link setupWorkloadSchema}; each execution takes at least {@link SLOW_STATEMENT_MIN_MS}.
 *
 * @throws Error when count is not a positive integer.
 */
export async function runSlowStatements(
  cluster: Cluster,
  database: string,
  opts: { count?: number } = {},
): Promise<SlowStatementRun[]> {
  const count = opts.count ?? 3;
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`runSlowStatements: count must be a positive integer, got ${count}`);
  }
  const sql = cluster.sql(database);
  try {
    const runs: SlowStatementRun[] = [];
    for (const statement of SLOW_STATEMENTS) {
      let minClientMs = Infinity;
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        await statement.run(sql, i);
        minClientMs = Math.min(minClientMs, performance.now() - t0);
      }
      runs.push({ statement, executions: count, minClientMs });
    }
    return runs;
  } finally {
    await sql.end();
  }
}

/** A row lock held by one session while another waits for it. */
export interface HeldRowLock {
  /** Backend pid of the session waiting for the lock. */
  blockedPid: number;
  /** Backend pid of the idle-in-transaction session holding the lock. */
  blockingPid: number;
  /** Rolls back the holder and waits until the blocked statement has finished. */
  release(): Promise<void>;
}

async function backendPid(sql: postgres.Sql | postgres.ReservedSql): Promise<number> {
  const rows = await sql`SELECT pg_backend_pid() AS pid`;
  return rows[0].pid as number;
}

/** Polls until `check` returns true, or throws with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Makes one session hold a row lock on `orders.id = 1` (idle in transaction) and a second session
 * block on it with an UPDATE of the same row. Returns once pg_stat_activity shows the second session
 * waiting on a Lock.
 */
export async function holdRowLock(cluster: Cluster, database: string): Promise<HeldRowLock> {
  const holderClient = cluster.sql(database);
  const waiterClient = cluster.sql(database);
  const observer = cluster.sql(database);
  const endAll = () => Promise.all([holderClient, waiterClient, observer].map((c) => c.end()));
  try {
    const holder = await holderClient.reserve();
    const blockingPid = await backendPid(holder);
    const blockedPid = await backendPid(waiterClient);
    await holder.unsafe("BEGIN");
    await holder.unsafe(`${workloadMarker("lock_holder")} UPDATE orders SET note = 'x' WHERE id = 1`);
    let waiterError: unknown;
    const waiter = waiterClient
      .unsafe(`${workloadMarker("lock_waiter")} UPDATE orders SET amount = amount + 1 WHERE id = 1`)
      .then(() => {}, (err) => {
        waiterError = err;
      });
    await waitUntil(`pid ${blockedPid} to wait on a Lock`, async () => {
      if (waiterError) throw waiterError;
      const rows = await observer`
        SELECT 1 FROM pg_stat_activity WHERE pid = ${blockedPid} AND wait_event_type = 'Lock'`;
      return rows.length === 1;
    });
    let released: Promise<void> | undefined;
    return {
      blockedPid,
      blockingPid,
      release: () =>
        released ??= (async () => {
          try {
            await holder.unsafe("ROLLBACK");
            holder.release();
            await waiter;
            if (waiterError) throw waiterError;
          } finally {
            await endAll();
          }
        })(),
    };
  } catch (err) {
    await endAll();
    throw err;
  }
}

/** Background sessions started by {@link startBackgroundWaits}. */
export interface BackgroundWaits {
  /** Backend pids of the sessions: one sleeping, one holding a lock, one waiting for it. */
  pids: { sleeper: number; holder: number; waiter: number };
  /** Stops the loops (they also stop by themselves after `durationMs`) and closes the sessions. */
  stop(): Promise<void>;
}

/**
 * Starts three sessions that, until `durationMs` passes or stop() is called, repeatedly produce
 * waits: one runs `pg_sleep` (Timeout:PgSleep), one holds a row lock on `customers.id = 1` for 50 ms
 * at a time, one updates that row and so waits on a Lock.
 *
 * @throws Error when durationMs is not between 1 and 30000.
 */
export async function startBackgroundWaits(
  cluster: Cluster,
  database: string,
  opts: { durationMs: number },
): Promise<BackgroundWaits> {
  const { durationMs } = opts;
  if (!Number.isFinite(durationMs) || durationMs < 1 || durationMs > MAX_WAIT_MS) {
    throw new Error(
      `startBackgroundWaits: durationMs must be between 1 and ${MAX_WAIT_MS}, got ${durationMs}`,
    );
  }
  const deadline = Date.now() + durationMs;
  let stopped = false;
  const running = () => !stopped && Date.now() < deadline;
  const sleeperSql = cluster.sql(database);
  const holderSql = cluster.sql(database);
  const waiterSql = cluster.sql(database);
  const clients = [sleeperSql, holderSql, waiterSql];
  try {
    const pids = {
      sleeper: await backendPid(sleeperSql),
      holder: await backendPid(holderSql),
      waiter: await backendPid(waiterSql),
    };
    const sleeper = async () => {
      while (running()) {
        await sleeperSql.unsafe(`${workloadMarker("background_sleep")} SELECT pg_sleep(0.05)`);
      }
    };
    const holder = async () => {
      while (running()) {
        await holderSql.begin(async (tx) => {
          await tx.unsafe(
            `${workloadMarker("background_holder")} UPDATE customers SET name = name WHERE id = 1`,
          );
          await tx.unsafe("SELECT pg_sleep(0.05)");
        });
        await sleep(1);
      }
    };
    const waiter = async () => {
      while (running()) {
        await waiterSql.unsafe(
          `${workloadMarker("background_waiter")} UPDATE customers SET region = region WHERE id = 1`,
        );
      }
    };
    const loops = Promise.allSettled([sleeper(), holder(), waiter()]);
    let stopping: Promise<void> | undefined;
    return {
      pids,
      stop: () =>
        stopping ??= (async () => {
          stopped = true;
          const results = await loops;
          await Promise.all(clients.map((c) => c.end()));
          const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
          if (failed) throw failed.reason;
        })(),
    };
  } catch (err) {
    await Promise.all(clients.map((c) => c.end()));
    throw err;
  }
}
