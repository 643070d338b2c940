/**
 * A throwaway PgBouncer (Debian's package) in front of a test cluster.
 *
 * {@link startPgBouncer} writes a configuration, a user list and a log into a private temporary
 * directory and runs `pgbouncer` in the foreground, as the unprivileged server OS user when the tests
 * run as root (see `serverUser()` in `cluster.ts`). It listens on 127.0.0.1 at a free port and routes
 * each configured database to the same name on the cluster, in transaction pooling by default.
 *
 * Authentication is SCRAM-SHA-256 from clients to PgBouncer and from PgBouncer to the server: the
 * user list carries the SCRAM secrets read from the cluster's `pg_authid`, so PgBouncer never sees a
 * plain password. The cluster's superuser is an admin console user (`admin_users`) by default, which
 * makes `SHOW STATS` and `SHOW POOLS` on database `pgbouncer` work with the cluster's credentials.
 *
 * ```ts
 * await using cluster = await startCluster();
 * await using bouncer = await startPgBouncer(cluster, { databases: ["postgres", "shop"] });
 * await bouncer.sql("shop").unsafe("SELECT 1");
 * const stats = await bouncer.admin().unsafe("SHOW STATS");
 * ```
 *
 * @module
 */

import postgres from "postgres";
import { join } from "node:path";
import { type Cluster, type OsUser, serverUser } from "./cluster.ts";

/** Where Debian's package installs the executable. */
export const PGBOUNCER_BIN = "/usr/sbin/pgbouncer";

/** Pool modes PgBouncer knows. */
export type PoolMode = "session" | "transaction" | "statement";

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  /** Databases routed to the same name on the cluster (one `[databases]` entry each); `postgres` by default. */
  databases?: string[];
  /** Pool mode of every database; `transaction` by default. */
  poolMode?: PoolMode;
  /** Roles allowed every admin console command; the cluster superuser by default. */
  adminUsers?: string[];
  /** Roles allowed the read-only admin console commands (`SHOW …`); none by default. */
  statsUsers?: string[];
  /** Extra `[pgbouncer]` settings (`name` → value), written after the harness defaults. */
  settings?: Record<string, string>;
}

/** A running PgBouncer. */
export interface PgBouncer {
  /** TCP address PgBouncer listens on. */
  host: "127.0.0.1";
  /** TCP port PgBouncer listens on. */
  port: number;
  /** Version reported by `SHOW VERSION`, e.g. `1.18.0`. */
  version: string;
  /** Private directory holding the configuration, the user list, the log and the socket; removed by stop(). */
  dir: string;
  /** Path of PgBouncer's log. */
  logFile: string;
  /** The cluster behind it. */
  cluster: Cluster;
  /**
   * A postgres.js client (one connection, no prepared statements) through PgBouncer to `database`
   * (`postgres` by default), as the cluster superuser. Every client is closed by stop().
   */
  sql(database?: string): postgres.Sql;
  /** A postgres.js client on the admin console (database `pgbouncer`), as the cluster superuser. */
  admin(): postgres.Sql;
  /** Rewrites the user list from the cluster's current roles and makes PgBouncer reload it. */
  syncUsers(): Promise<void>;
  /** The last lines of PgBouncer's log (its standard error when the log is empty). */
  logTail(lines?: number): string;
  /** Stops PgBouncer and removes its directory; safe to call more than once. */
  stop(): Promise<void>;
  /** Same as stop(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
const SETTING_NAME_PATTERN = /^[a-z_]+$/;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 5;
/** Bytes of standard error kept for error messages. */
const STDERR_KEEP = 16_384;

function checkName(kind: string, name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`invalid ${kind} name "${name}": use letters, digits, _ or - (at most 63)`);
  }
  return name;
}

/** `"text"` with embedded double quotes doubled, as the user list expects. */
function quoteUserlist(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/** The user list: every login role of the cluster that has a password, with its stored secret. */
async function userlist(cluster: Cluster): Promise<string> {
  const sql = cluster.sql();
  try {
    const rows = await sql`SELECT rolname, rolpassword FROM pg_authid
      WHERE rolcanlogin AND rolpassword IS NOT NULL ORDER BY rolname`;
    return rows.map((r) => `${quoteUserlist(r.rolname)} ${quoteUserlist(r.rolpassword)}\n`).join("");
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The configuration file text for listening on `port` in `dir`. */
export function pgbouncerIni(
  cluster: Cluster,
  dir: string,
  port: number,
  opts: PgBouncerOptions = {},
): string {
  const databases = (opts.databases ?? ["postgres"]).map((d) => checkName("database", d));
  if (databases.length === 0) throw new Error("PgBouncer needs at least one database");
  if (databases.includes("pgbouncer")) throw new Error(`"pgbouncer" is the admin console, not a database`);
  const poolMode = opts.poolMode ?? "transaction";
  if (!["session", "transaction", "statement"].includes(poolMode)) {
    throw new Error(`invalid pool mode "${poolMode}": use session, transaction or statement`);
  }
  const admins = (opts.adminUsers ?? [cluster.superuser]).map((u) => checkName("admin user", u));
  const stats = (opts.statsUsers ?? []).map((u) => checkName("stats user", u));
  const settings: Record<string, string> = {
    listen_addr: "127.0.0.1",
    listen_port: String(port),
    unix_socket_dir: dir,
    auth_type: "scram-sha-256",
    auth_file: join(dir, "userlist.txt"),
    admin_users: admins.join(","),
    stats_users: stats.join(","),
    pool_mode: poolMode,
    logfile: join(dir, "pgbouncer.log"),
    pidfile: join(dir, "pgbouncer.pid"),
    max_client_conn: "200",
    default_pool_size: "10",
    stats_period: "1",
    log_stats: "0",
    server_login_retry: "1",
  };
  for (const [name, value] of Object.entries(opts.settings ?? {})) {
    if (!SETTING_NAME_PATTERN.test(name) || /[\n\r]/.test(value)) {
      throw new Error(`invalid PgBouncer setting ${JSON.stringify(name)} = ${JSON.stringify(value)}`);
    }
    settings[name] = value;
  }
  const target = `host=${cluster.host} port=${cluster.port}`;
  return [
    "[databases]",
    ...databases.map((d) => `${d} = ${target} dbname=${d}`),
    "",
    "[pgbouncer]",
    ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
    "",
  ].join("\n");
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function tailOfFile(path: string, lines: number): string {
  try {
    return Deno.readTextFileSync(path).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** A started process and the tail of its standard error. */
interface Running {
  child: Deno.ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number>;
}

function spawn(user: OsUser | undefined, ini: string): Running {
  const child = new Deno.Command(PGBOUNCER_BIN, {
    args: [ini],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  }).spawn();
  let kept = "";
  const decoder = new TextDecoder();
  const drained = (async () => {
    for await (const chunk of child.stderr) {
      kept = (kept + decoder.decode(chunk, { stream: true })).slice(-STDERR_KEEP);
    }
  })().catch(() => {});
  const exited = child.status.then(async (s) => {
    await drained;
    return s.code;
  });
  return { child, stderr: () => kept, exited };
}

function adminClient(cluster: Cluster, port: number): postgres.Sql {
  return postgres({
    host: "127.0.0.1",
    port,
    user: cluster.superuser,
    password: cluster.password,
    database: "pgbouncer",
    max: 1,
    connect_timeout: 5,
    prepare: false,
    fetch_types: false,
    onnotice: () => {},
  });
}

/**
 * Waits until the log says the process is up and its admin console answers `SHOW VERSION`;
 * returns the version, or throws when the process exits, its log says it cannot listen on the TCP
 * port (it would go on with the Unix socket alone), or the deadline passes.
 */
async function waitForConsole(
  cluster: Cluster,
  port: number,
  running: Running,
  logFile: string,
): Promise<string> {
  let exitCode: number | undefined;
  running.exited.then((c) => exitCode = c);
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline && exitCode === undefined) {
    // Only once the log says the process is up are its listeners settled; before that, a console
    // answering on the port may be another process's.
    const log = tailOfFile(logFile, 200);
    const refused = /cannot listen on [^\n]*/.exec(log)?.[0];
    if (refused) throw new Error(refused);
    if (!/process up/.test(log)) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const sql = adminClient(cluster, port);
    try {
      const rows = await sql.unsafe("SHOW VERSION");
      const text = String(rows[0]?.version ?? "");
      const version = /PgBouncer\s+(\S+)/i.exec(text)?.[1];
      if (!version) throw new Error(`unexpected SHOW VERSION answer ${JSON.stringify(rows)}`);
      return version;
    } catch (err) {
      lastError = err;
    } finally {
      await sql.end({ timeout: 1 });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    exitCode !== undefined
      ? `pgbouncer exited with code ${exitCode}`
      : `pgbouncer's admin console did not answer in time: ${lastError}`,
  );
}

/** Stops `running`: SIGTERM (immediate shutdown), then SIGKILL if it outlives the timeout. */
async function terminate(running: Running): Promise<void> {
  const signal = (sig: Deno.Signal) => {
    try {
      running.child.kill(sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), STOP_TIMEOUT_MS));
  const outcome = await Promise.race([running.exited, late]);
  clearTimeout(timer);
  if (outcome === "late") {
    signal("SIGKILL");
    await running.exited;
  }
}

/**
 * Starts PgBouncer in front of `cluster` and waits until its admin console answers.
 *
 * @throws Error when the executable is missing, an option is invalid, or PgBouncer does not start
 * (the message carries the tail of its log); its directory is removed in that case.
 */
export async function startPgBouncer(cluster: Cluster, opts: PgBouncerOptions = {}): Promise<PgBouncer> {
  try {
    Deno.statSync(PGBOUNCER_BIN);
  } catch {
    throw new Error(`pgbouncer is not installed at ${PGBOUNCER_BIN}; run scripts/setup.sh`);
  }
  pgbouncerIni(cluster, "/", 1, opts); // validates the options before anything is created
  const user = serverUser();
  const dir = await Deno.makeTempDir({ prefix: "pgql-bouncer-" });
  const logFile = join(dir, "pgbouncer.log");
  const iniFile = join(dir, "pgbouncer.ini");
  const userFile = join(dir, "userlist.txt");
  const writeOwned = async (path: string, text: string) => {
    await Deno.writeTextFile(path, text, { mode: 0o600 });
    if (user) await Deno.chown(path, user.uid, user.gid);
  };
  let running: Running | undefined;
  try {
    await Deno.chmod(dir, 0o700);
    if (user) await Deno.chown(dir, user.uid, user.gid);
    await writeOwned(userFile, await userlist(cluster));
    const fixedPort = opts.settings?.listen_port;
    for (let attempt = 1;; attempt++) {
      const port = fixedPort === undefined ? freePort() : Number(fixedPort);
      await writeOwned(iniFile, pgbouncerIni(cluster, dir, port, opts));
      running = spawn(user, iniFile);
      try {
        const version = await waitForConsole(cluster, port, running, logFile);
        return makePgBouncer({
          cluster,
          dir,
          logFile,
          iniFile,
          userFile,
          port,
          version,
          running,
          writeOwned,
        });
      } catch (err) {
        await terminate(running);
        const log = tailOfFile(logFile, 30) || running.stderr().trimEnd().split("\n").slice(-30).join("\n");
        if (fixedPort === undefined && attempt < PORT_ATTEMPTS && /address already in use/i.test(log)) {
          continue;
        }
        throw new Error(
          `PgBouncer did not start on port ${port} (in ${dir}): ${(err as Error).message}\n` +
            `--- pgbouncer log ---\n${log || "(empty)"}`,
        );
      }
    }
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** Everything the PgBouncer object closes over. */
interface State {
  cluster: Cluster;
  dir: string;
  logFile: string;
  iniFile: string;
  userFile: string;
  port: number;
  version: string;
  running: Running;
  writeOwned(path: string, text: string): Promise<void>;
}

function makePgBouncer(s: State): PgBouncer {
  const clients = new Set<postgres.Sql>();
  let stopping: Promise<void> | undefined;
  const track = (sql: postgres.Sql) => {
    if (stopping) throw new Error(`PgBouncer in ${s.dir} is stopped`);
    clients.add(sql);
    return sql;
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all([...clients].map((c) => c.end({ timeout: 0 }).catch(() => {})));
      await terminate(s.running);
      await Deno.remove(s.dir, { recursive: true });
    })();
    return stopping;
  };
  const admin = () => track(adminClient(s.cluster, s.port));
  return {
    host: "127.0.0.1",
    port: s.port,
    version: s.version,
    dir: s.dir,
    logFile: s.logFile,
    cluster: s.cluster,
    sql: (database = "postgres") =>
      track(postgres({
        host: "127.0.0.1",
        port: s.port,
        user: s.cluster.superuser,
        password: s.cluster.password,
        database,
        max: 1,
        connect_timeout: 5,
        prepare: false,
        fetch_types: false,
        onnotice: () => {},
      })),
    admin,
    async syncUsers(): Promise<void> {
      await s.writeOwned(s.userFile, await userlist(s.cluster));
      const sql = admin();
      try {
        await sql.unsafe("RELOAD");
      } finally {
        clients.delete(sql);
        await sql.end({ timeout: 1 });
      }
    },
    logTail: (lines = 50) =>
      tailOfFile(s.logFile, lines) || s.running.stderr().trimEnd().split("\n").slice(-lines).join("\n"),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
