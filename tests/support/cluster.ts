/**
 * Throwaway PostgreSQL clusters for tests.
 *
 * {@link startCluster} runs `initdb` and `pg_ctl` from one {@link ServerInstall} into a private
 * directory under `.state/clusters/` (data directory, Unix socket, server log), listening on
 * 127.0.0.1 at a free port with password authentication over TCP. When the tests run as root, the
 * server runs as an unprivileged OS user (`postgres`, else `pgquerylens`; `scripts/setup.sh`
 * ensures one exists), since PostgreSQL refuses to run as root.
 *
 * ```ts
 * await using cluster = await startCluster({ preload: ["pg_stat_statements"] });
 * const rows = await cluster.sql()`SELECT 1 AS one`;
 * ```
 *
 * @module
 */

import postgres from "postgres";
import { join } from "node:path";
import { debianServer, repoRoot, type ServerInstall } from "./servers.ts";

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Install to run; Debian's PostgreSQL 15 by default. */
  server?: ServerInstall;
  /** Libraries for `shared_preload_libraries`, in load order. */
  preload?: string[];
  /** Extra server settings (`name` → value), applied after the harness defaults. */
  settings?: Record<string, string>;
  /** Prefix of the cluster directory name (letters, digits, `_`, `-`); `cluster` by default. */
  name?: string;
}

/** Options of {@link Cluster.createRole}. */
export interface RoleOptions {
  /** Create the role as a superuser. */
  superuser?: boolean;
  /**
   * Grants to give the role, each the text between `GRANT` and `TO`: a role name such as
   * `pg_monitor`, or a privilege such as `SELECT ON ALL TABLES IN SCHEMA public`. They run in the
   * `postgres` database.
   */
  grants?: string[];
}

/** A running throwaway cluster. */
export interface Cluster {
  /** TCP address the server listens on. */
  host: "127.0.0.1";
  /** TCP port the server listens on. */
  port: number;
  /** Name of the bootstrap superuser. */
  superuser: "postgres";
  /** Random password of the superuser (TCP connections use scram-sha-256). */
  password: string;
  /** Directory of the server's Unix socket (local connections are trusted). */
  socketDir: string;
  /** Data directory. */
  dataDir: string;
  /** Private directory holding the data directory, the socket and the log; removed by stop(). */
  dir: string;
  /** Path of the server log. */
  logFile: string;
  /** The install the cluster runs. */
  server: ServerInstall;
  /** Major version of the running server. */
  major: number;
  /**
   * A postgres.js client (one connection, over TCP with the superuser password) for a database,
   * `postgres` by default. Every client is closed by stop().
   */
  sql(database?: string): postgres.Sql;
  /** Creates a database owned by the superuser. */
  createDatabase(name: string): Promise<void>;
  /** Creates a login role with a password, then runs its grants. */
  createRole(name: string, password: string, opts?: RoleOptions): Promise<void>;
  /** Runs `CREATE EXTENSION IF NOT EXISTS` in a database and returns the installed version. */
  createExtension(database: string, extension: string): Promise<string>;
  /** The last lines of the server log. */
  logTail(lines?: number): string;
  /** Stops the server immediately and removes its directory; safe to call more than once. */
  stop(): Promise<void>;
  /** Same as stop(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;
const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;
const START_TIMEOUT_SECONDS = 60;
const PORT_ATTEMPTS = 5;
/** Longest Unix socket path the kernel accepts, less room for `/.s.PGSQL.NNNNN`. */
const MAX_SOCKET_DIR_LENGTH = 107 - "/.s.PGSQL.65535".length;

/** An OS account as read from /etc/passwd. */
export interface OsUser {
  /** Login name. */
  name: string;
  /** Numeric user id. */
  uid: number;
  /** Numeric primary group id. */
  gid: number;
}

/** Outcome of one process run. */
interface RunResult {
  code: number;
  output: string;
}

function lookupUser(name: string): OsUser | undefined {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const fields = line.split(":");
  return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
}

/**
 * The OS user that runs servers: undefined when the tests are not root (servers run as the current
 * user), else `postgres` or `pgquerylens`.
 *
 * @throws Error when running as root and neither user exists.
 */
export function serverUser(): OsUser | undefined {
  if (Deno.uid() !== 0) return undefined;
  const user = lookupUser("postgres") ?? lookupUser("pgquerylens");
  if (!user) {
    throw new Error(
      "no unprivileged OS user to run PostgreSQL (postgres or pgquerylens); run scripts/setup.sh",
    );
  }
  return user;
}

async function run(
  user: OsUser | undefined,
  server: ServerInstall,
  tool: string,
  args: string[],
): Promise<RunResult> {
  const exe = join(server.binDir, tool);
  const env = server.libDir ? [`LD_LIBRARY_PATH=${server.libDir}`] : [];
  const [cmd, cmdArgs] = user
    ? ["runuser", ["-u", user.name, "--", "env", ...env, exe, ...args]]
    : ["env", [...env, exe, ...args]];
  const out = await new Deno.Command(cmd, { args: cmdArgs, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

async function canTraverse(user: OsUser | undefined, dir: string): Promise<boolean> {
  if (!user) return true;
  const out = await new Deno.Command("runuser", {
    args: ["-u", user.name, "--", "test", "-x", dir],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

/** Age after which a cluster directory without a running postmaster counts as abandoned. */
const STALE_AFTER_MS = 10 * 60 * 1000;

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes cluster directories left behind by test processes that died before stop(): those whose
 * postmaster is not running and that were last modified more than {@link STALE_AFTER_MS} ago.
 * Directories of clusters that are running (possibly in another test process) are kept.
 */
export async function removeStaleClusters(baseDir: string): Promise<string[]> {
  const removed: string[] = [];
  for await (const entry of Deno.readDir(baseDir)) {
    if (!entry.isDirectory) continue;
    const dir = join(baseDir, entry.name);
    try {
      const pidText = await Deno.readTextFile(join(dir, "data", "postmaster.pid")).catch(() => "");
      const pid = Number(pidText.split("\n")[0]);
      if (pid > 0 && processAlive(pid)) continue;
      if (Date.now() - ((await Deno.stat(dir)).mtime?.getTime() ?? Date.now()) < STALE_AFTER_MS) continue;
      await Deno.remove(dir, { recursive: true });
      removed.push(dir);
    } catch {
      // raced with another process cleaning up, or not ours to remove
    }
  }
  return removed;
}

/** The directory under which cluster directories are created (made once per process). */
let baseDirPromise: Promise<string> | undefined;

/**
 * `.state/clusters` in the repository; a directory under the system temp directory when the server
 * user cannot reach the repository.
 */
function clusterBaseDir(user: OsUser | undefined): Promise<string> {
  baseDirPromise ??= (async () => {
    const inRepo = join(repoRoot(), ".state", "clusters");
    await Deno.mkdir(inRepo, { recursive: true });
    if (await canTraverse(user, inRepo)) {
      await removeStaleClusters(inRepo);
      return inRepo;
    }
    const fallback = join(Deno.env.get("TMPDIR") ?? "/tmp", "pgquerylens-clusters");
    await Deno.mkdir(fallback, { recursive: true, mode: 0o755 });
    if (!(await canTraverse(user, fallback))) {
      throw new Error(`the server user ${user?.name} cannot reach ${inRepo} nor ${fallback}`);
    }
    await removeStaleClusters(fallback);
    return fallback;
  })();
  return baseDirPromise;
}

function randomToken(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function quoteSetting(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function checkIdentifier(kind: string, name: string): string {
  if (!IDENTIFIER_PATTERN.test(name)) {
    throw new Error(`invalid ${kind} name "${name}": use letters, digits, _, $ or - (at most 63)`);
  }
  return `"${name}"`;
}

/** Settings written to postgresql.conf: harness defaults, then the caller's. */
function serverSettings(
  server: ServerInstall,
  socketDir: string,
  opts: ClusterOptions,
): Record<string, string> {
  const preload = opts.preload ?? [];
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: socketDir,
    shared_preload_libraries: preload.join(","),
    max_connections: "200",
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    track_io_timing: "on",
    logging_collector: "off",
  };
  if (server.major >= 14) settings.compute_query_id = "on";
  if (preload.includes("pg_stat_statements")) settings["pg_stat_statements.track"] = "all";
  return { ...settings, ...(opts.settings ?? {}) };
}

function tailOf(path: string, lines: number): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return "(no server log)";
  }
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Waits until a superuser login over TCP succeeds, or throws after the deadline. */
async function waitForLogin(port: number, password: string, deadline: number): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    const sql = postgres({
      host: "127.0.0.1",
      port,
      user: "postgres",
      password,
      database: "postgres",
      max: 1,
      connect_timeout: 5,
      onnotice: () => {},
    });
    try {
      await sql`SELECT 1`;
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await sql.end({ timeout: 1 });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not accept a TCP login in time: ${lastError}`);
}

/**
 * Creates, configures and starts a throwaway cluster, waiting until it accepts TCP logins.
 *
 * @throws Error when the install is unusable, initdb fails, or the server does not start (the
 * message carries the tail of the server log); the cluster directory is removed in that case.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const server = opts.server ?? debianServer();
  const name = opts.name ?? "cluster";
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`invalid cluster name "${name}": use 1-40 letters, digits, _ or -`);
  }
  for (const lib of opts.preload ?? []) {
    if (!/^[A-Za-z0-9_]+$/.test(lib)) throw new Error(`invalid preload library name "${lib}"`);
  }
  const user = serverUser();
  const dir = join(await clusterBaseDir(user), `${name}-${randomToken(6)}`);
  await Deno.mkdir(dir, { mode: 0o700 });
  let ownedSocketDir: string | undefined;
  try {
    const socketDir = dir.length <= MAX_SOCKET_DIR_LENGTH
      ? dir
      : (ownedSocketDir = await Deno.makeTempDir({ prefix: "pgql-sock-" }));
    if (user) {
      await Deno.chown(dir, user.uid, user.gid);
      if (ownedSocketDir) await Deno.chown(ownedSocketDir, user.uid, user.gid);
    }
    return await initAndStart({ server, user, dir, socketDir, ownedSocketDir }, opts);
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (ownedSocketDir) await Deno.remove(ownedSocketDir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** Where a cluster lives and who runs it. */
interface Placement {
  server: ServerInstall;
  user: OsUser | undefined;
  /** Private cluster directory. */
  dir: string;
  /** Socket directory: `dir` itself, or `ownedSocketDir` when `dir` is too long for a socket path. */
  socketDir: string;
  /** A separate socket directory that stop() removes too. */
  ownedSocketDir?: string;
}

async function initAndStart(place: Placement, opts: ClusterOptions): Promise<Cluster> {
  const { server, user, dir, socketDir } = place;
  const dataDir = join(dir, "data");
  const logFile = join(dir, "server.log");
  const password = randomToken(16);
  const pwFile = join(dir, "pwfile");
  await Deno.writeTextFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (user) await Deno.chown(pwFile, user.uid, user.gid);

  const init = await run(user, server, "initdb", [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    `--pwfile=${pwFile}`,
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  await Deno.remove(pwFile);
  if (init.code !== 0) {
    throw new Error(`initdb (${server.id}) failed with code ${init.code}:\n${init.output.trim()}`);
  }

  const settings = serverSettings(server, socketDir, opts);
  const conf = Object.entries(settings).map(([k, v]) => `${k} = ${quoteSetting(v)}`).join("\n");
  await Deno.writeTextFile(join(dataDir, "postgresql.conf"), `\n# test harness\n${conf}\n`, { append: true });

  let port = 0;
  for (let attempt = 1;; attempt++) {
    port = freePort();
    const start = await run(user, server, "pg_ctl", [
      "-D",
      dataDir,
      "-l",
      logFile,
      "-o",
      `-p ${port}`,
      "-w",
      "-t",
      String(START_TIMEOUT_SECONDS),
      "start",
    ]);
    if (start.code === 0) break;
    const log = tailOf(logFile, 30);
    if (attempt < PORT_ATTEMPTS && /already in use/i.test(log)) continue;
    throw new Error(
      `PostgreSQL (${server.id}) did not start on port ${port}: ${start.output.trim()}\n--- server log ---\n${log}`,
    );
  }

  try {
    await waitForLogin(port, password, Date.now() + START_TIMEOUT_SECONDS * 1000);
  } catch (err) {
    await run(user, server, "pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
    throw new Error(`${(err as Error).message}\n--- server log ---\n${tailOf(logFile, 30)}`);
  }
  const cluster = makeCluster({ ...place, dataDir, logFile, port, password });
  try {
    const versionNum = Number((await cluster.sql()`SHOW server_version_num`)[0].server_version_num);
    cluster.major = Math.floor(versionNum / 10000);
  } catch (err) {
    await cluster.stop().catch(() => {});
    throw err;
  }
  return cluster;
}

/** Everything the cluster object closes over. */
interface ClusterState extends Placement {
  dataDir: string;
  logFile: string;
  port: number;
  password: string;
}

function makeCluster(s: ClusterState): Cluster {
  const clients = new Set<postgres.Sql>();
  const admin = new Map<string, postgres.Sql>();
  let stopping: Promise<void> | undefined;

  const connect = (database = "postgres"): postgres.Sql => {
    if (stopping) throw new Error(`cluster ${s.dir} is stopped`);
    const sql = postgres({
      host: "127.0.0.1",
      port: s.port,
      user: "postgres",
      password: s.password,
      database,
      max: 1,
      connect_timeout: 10,
      onnotice: () => {},
    });
    clients.add(sql);
    return sql;
  };
  const adminFor = (database: string): postgres.Sql => {
    let sql = admin.get(database);
    if (!sql) {
      sql = connect(database);
      admin.set(database, sql);
    }
    return sql;
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all([...clients].map((c) => c.end({ timeout: 0 }).catch(() => {})));
      const res = await run(s.user, s.server, "pg_ctl", ["-D", s.dataDir, "-m", "immediate", "-w", "stop"]);
      if (res.code !== 0) await killPostmaster(s.dataDir);
      await Deno.remove(s.dir, { recursive: true });
      if (s.ownedSocketDir) await Deno.remove(s.ownedSocketDir, { recursive: true });
    })();
    return stopping;
  };

  return {
    host: "127.0.0.1",
    port: s.port,
    superuser: "postgres",
    password: s.password,
    socketDir: s.socketDir,
    dataDir: s.dataDir,
    dir: s.dir,
    logFile: s.logFile,
    server: s.server,
    major: s.server.major,
    sql: connect,
    async createDatabase(name: string): Promise<void> {
      await adminFor("postgres").unsafe(`CREATE DATABASE ${checkIdentifier("database", name)}`);
    },
    async createRole(name: string, password: string, opts: RoleOptions = {}): Promise<void> {
      const sql = adminFor("postgres");
      const role = checkIdentifier("role", name);
      const kind = opts.superuser ? "SUPERUSER" : "NOSUPERUSER";
      await sql.unsafe(`CREATE ROLE ${role} LOGIN ${kind} PASSWORD ${quoteLiteral(password)}`);
      for (const grant of opts.grants ?? []) {
        if (grant.includes(";") || grant.trim() === "") throw new Error(`invalid grant "${grant}"`);
        await sql.unsafe(`GRANT ${grant} TO ${role}`);
      }
    },
    async createExtension(database: string, extension: string): Promise<string> {
      const sql = adminFor(database);
      await sql.unsafe(`CREATE EXTENSION IF NOT EXISTS ${checkIdentifier("extension", extension)}`);
      const rows = await sql`SELECT extversion FROM pg_extension WHERE extname = ${extension}`;
      return rows[0].extversion as string;
    },
    logTail: (lines = 50) => tailOf(s.logFile, lines),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Last resort when pg_ctl cannot stop the server: SIGKILL the postmaster named in postmaster.pid. */
async function killPostmaster(dataDir: string): Promise<void> {
  try {
    const pid = Number((await Deno.readTextFile(join(dataDir, "postmaster.pid"))).split("\n")[0]);
    if (pid > 0) Deno.kill(pid, "SIGKILL");
  } catch {
    // no pid file or process already gone
  }
}
