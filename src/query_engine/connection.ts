/**
 * Connections: one postgres.js client per database and purpose, reused across cycles.
 *
 * Every session carries `application_name`, `statement_timeout` and `lock_timeout` as startup
 * parameters, so a reconnect (postgres.js reconnects lazily after a failure) gets them again
 * without a round trip. Database names are connection parameters, never spliced into SQL.
 *
 * PgBouncer needs two exceptions:
 *
 * - **Its admin console** (database `pgbouncer`, session purpose {@link PGBOUNCER_CONSOLE}) speaks
 *   only the simple query protocol and knows no settings: its sessions send `application_name`
 *   alone and run every statement with the simple protocol (statement parameters are refused).
 * - **A port that is PgBouncer's** (the documented set-up when PgBouncer metrics are collected: the
 *   configured port is PgBouncer's, and every database is reached through it). Unless PgBouncer is
 *   told to ignore them, it closes a login that carries `statement_timeout` or `lock_timeout`
 *   ("unsupported startup parameter", SQLSTATE 08P01). The statement was never sent, so the
 *   session logs in again at once without the two timeouts and runs it; from then on every session
 *   of the manager starts without them, and one warning (component `connection`, cause
 *   `startup_parameters_refused`) tells the operator. Setting them afterwards with `SET` is no
 *   answer: in transaction pooling the server connection changes between statements, and a
 *   session-level `SET` would stay behind on a server connection that applications then use.
 *   Instead the collector keeps its promise of short statements itself: it cancels a statement
 *   that runs longer than `statement_timeout` (a cancel request, which PgBouncer forwards to the
 *   server), so a slow catalog query never holds a pooled server connection for long; the error
 *   keeps SQLSTATE 57014 and says why. `lock_timeout` has no client-side equivalent; a lock wait
 *   is bounded by the statement's cancel.
 *
 * @module
 */

import postgres from "postgres";
import type { Config } from "../config/types.ts";
import type { CollectionIssue } from "../core/model.ts";

/** One result row. */
// deno-lint-ignore no-explicit-any
export type Row = Record<string, any>;

/** Options of {@link Session.unsafe}. */
export interface StatementOptions {
  /** Simple query protocol (true) or extended protocol (false, the default with parameters). */
  simple?: boolean;
}

/**
 * A database session: runs one statement at a time and reconnects after a connection failure.
 * (A postgres.js client satisfies it too, which tests use.)
 */
export interface Session {
  /** Runs `text` with bound `params` (`options` as {@link StatementOptions}). */
  // deno-lint-ignore no-explicit-any
  unsafe(text: string, params?: any[], options?: any): Promise<Row[]>;
}

/** The session type every collector takes. */
export type Sql = Session;

/**
 * Whether `e` means the connection itself is gone rather than a statement failed: anything that is
 * not a server error (network and socket errors, driver-side closes — with or without a code), and
 * server errors of classes 08 (connection exception) and 57P (shutdown, termination).
 */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && (e as Error)?.name === "PostgresError") {
    return code.startsWith("08") || code.startsWith("57P");
  }
  return true;
}

/** Session purpose of PgBouncer's admin console: simple protocol only, no settings at login. */
export const PGBOUNCER_CONSOLE = "pgbouncer-console";

/**
 * Whether `e` is a server refusing a startup parameter of the login ("unsupported startup
 * parameter: …", SQLSTATE 08P01), as PgBouncer answers `statement_timeout` and `lock_timeout`
 * unless they are in its `ignore_startup_parameters`.
 */
export function isStartupParameterRefusal(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown; name?: unknown };
  return err?.name === "PostgresError" && err.code === "08P01" &&
    typeof err.message === "string" && /^unsupported startup parameter\b/i.test(err.message);
}

/** A client and whether it sent the timeouts at login. */
interface Client {
  sql: postgres.Sql;
  timeouts: boolean;
  /** The server refused this client's login for its startup parameters. */
  refusedLogin?: boolean;
}

/** How a {@link ManagedSession} connects and runs statements. */
interface SessionPolicy {
  /** Creates a client with the manager's current startup parameters. */
  create(): Client;
  /** Called when a login with the timeouts was refused for them: later logins go without them. */
  refused(e: unknown): void;
  /** Every statement uses the simple query protocol and takes no parameters. */
  simpleOnly: boolean;
  /** Cancel a statement after this many ms when the client could not send `statement_timeout` (0: never). */
  statementTimeoutMs: number;
}

/**
 * A session over a postgres.js client that is replaced after a connection failure: the driver's
 * own reconnect can leave the next statement waiting forever when a statement races the
 * termination of its backend, so a failed client is ended and a fresh one serves the next call.
 */
class ManagedSession implements Session {
  readonly #policy: SessionPolicy;
  #client?: Client;
  #closed = false;

  constructor(policy: SessionPolicy) {
    this.#policy = policy;
  }

  async unsafe(text: string, params: unknown[] = [], options?: StatementOptions): Promise<Row[]> {
    if (this.#closed) throw new Error("session closed");
    if (this.#policy.simpleOnly) {
      if (params.length > 0) {
        throw new Error(
          "the PgBouncer admin console runs statements without parameters (simple protocol only)",
        );
      }
      options = { ...options, simple: true };
    }
    const client = this.#client ??= this.#policy.create();
    try {
      return await this.#run(client, text, params, options);
    } catch (e) {
      // The login was refused before the statement was sent: run it once on a login without them.
      // Statements queued on the same refused client fail with the client's destruction instead.
      const refusal = isStartupParameterRefusal(e);
      if (refusal) client.refusedLogin = true;
      if (client.timeouts && !this.#closed && (refusal || (client.refusedLogin && isConnectionError(e)))) {
        if (refusal) this.#policy.refused(e);
        return await this.#run(this.#client ??= this.#policy.create(), text, params, options);
      }
      throw e;
    }
  }

  async #run(client: Client, text: string, params: unknown[], options?: StatementOptions): Promise<Row[]> {
    const query = client.sql.unsafe(text, params as never[], options as never);
    const limitMs = client.timeouts || this.#policy.simpleOnly ? 0 : this.#policy.statementTimeoutMs;
    let timedOut = false;
    const timer = limitMs > 0
      ? setTimeout(() => {
        timedOut = true;
        Promise.resolve(query.cancel()).catch(() => {});
      }, limitMs)
      : undefined;
    try {
      return await query;
    } catch (e) {
      if (isConnectionError(e) && this.#client === client) {
        this.#client = undefined;
        client.sql.end({ timeout: 0 }).catch(() => {});
      }
      if (timedOut && (e as { code?: unknown })?.code === "57014") {
        (e as Error).message = `canceling statement after ${limitMs} ms: statement_timeout enforced by the ` +
          "collector (the server at this port refused it as a startup parameter)";
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  async end(timeoutSeconds: number): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.sql.end({ timeout: timeoutSeconds });
  }
}

/** What the connection layer needs from the configuration. */
export type ConnectionConfig = Pick<
  Config,
  | "username"
  | "password"
  | "hostname"
  | "port"
  | "timeout"
  | "enableSsl"
  | "trustServerCertificate"
  | "sslRootCertLocation"
  | "sslCertLocation"
  | "sslKeyLocation"
  | "session"
>;

/** Reads a file for TLS material; injected so tests and callers control file access. */
export type ReadFile = (path: string) => string;

function sslOptions(cfg: ConnectionConfig, readFile: ReadFile): postgres.Options<never>["ssl"] {
  if (!cfg.enableSsl) return false;
  if (cfg.trustServerCertificate) return { rejectUnauthorized: false };
  const tls: Record<string, unknown> = { rejectUnauthorized: true, ca: readFile(cfg.sslRootCertLocation) };
  if (cfg.sslCertLocation) tls.cert = readFile(cfg.sslCertLocation);
  if (cfg.sslKeyLocation) tls.key = readFile(cfg.sslKeyLocation);
  return tls as postgres.Options<never>["ssl"];
}

/** Seconds to wait before reconnect attempt `retries`: exponential with jitter, capped at 20 s. */
export function reconnectBackoff(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, 20);
}

/** Which settings a login sends besides `application_name`. */
export interface StartupOptions {
  /** Send `statement_timeout` and `lock_timeout` (true by default). */
  timeouts?: boolean;
}

/**
 * Builds postgres.js options for `database` from the configuration. With `startup.timeouts`
 * false, the login sends `application_name` only.
 */
export function connectionOptions(
  cfg: ConnectionConfig,
  database: string,
  readFile: ReadFile = Deno.readTextFileSync,
  startup: StartupOptions = {},
): postgres.Options<never> {
  const timeouts = startup.timeouts ?? true;
  const options = {
    host: cfg.hostname,
    port: Number(cfg.port),
    database,
    username: cfg.username,
    password: cfg.password,
    ssl: sslOptions(cfg, readFile),
    // Every driver default is given explicitly so that no PG* environment variable is consulted
    // (the collector's env permission covers only the names in ENV_NAMES).
    max: 1,
    idle_timeout: 0,
    connect_timeout: cfg.timeout > 0 ? cfg.timeout : 0,
    prepare: false,
    sslnegotiation: null,
    max_lifetime: null,
    max_pipeline: 100,
    backoff: reconnectBackoff,
    keep_alive: 60,
    debug: false,
    fetch_types: false,
    publications: "alltables",
    target_session_attrs: undefined,
    onnotice: () => {},
    connection: timeouts
      ? {
        application_name: cfg.session.applicationName,
        statement_timeout: cfg.session.statementTimeoutMs,
        lock_timeout: cfg.session.lockTimeoutMs,
      }
      : { application_name: cfg.session.applicationName },
  };
  return options as postgres.Options<never>;
}

/** Options of {@link ConnectionManager}. */
export interface ConnectionManagerOptions {
  /** Reads TLS material (the file system by default). */
  readFile?: ReadFile;
  /** Receives the manager's own issues, such as refused startup parameters (each cause once). */
  report?: (issue: CollectionIssue) => void;
}

/** Keeps one client per database and purpose for the life of the collector. */
export class ConnectionManager {
  readonly #cfg: ConnectionConfig;
  readonly #clients = new Map<string, ManagedSession>();
  readonly #readFile: ReadFile;
  readonly #report: (issue: CollectionIssue) => void;
  #timeouts = true;

  /**
   * @param cfg connection settings
   * @param opts TLS file reader and issue sink
   */
  constructor(cfg: ConnectionConfig, opts: ConnectionManagerOptions = {}) {
    this.#cfg = cfg;
    this.#readFile = opts.readFile ?? Deno.readTextFileSync;
    this.#report = opts.report ?? (() => {});
  }

  /** Whether logins still send `statement_timeout` and `lock_timeout` (false once they were refused). */
  get sendsTimeouts(): boolean {
    return this.#timeouts;
  }

  /**
   * The session for `database`, created on first use. `purpose` keeps separate sessions for work
   * that runs concurrently with the main one (e.g. activity sampling); {@link PGBOUNCER_CONSOLE}
   * gives a session fit for PgBouncer's admin console.
   */
  sql(database: string, purpose = "main"): Sql {
    const key = `${purpose}\u0000${database}`;
    let c = this.#clients.get(key);
    if (!c) {
      const adminConsole = purpose === PGBOUNCER_CONSOLE;
      c = new ManagedSession({
        create: () => {
          const timeouts = this.#timeouts && !adminConsole;
          const options = connectionOptions(this.#cfg, database, this.#readFile, { timeouts });
          return { sql: postgres(options), timeouts };
        },
        refused: (e) => this.#refused(e),
        simpleOnly: adminConsole,
        statementTimeoutMs: this.#cfg.session.statementTimeoutMs,
      });
      this.#clients.set(key, c);
    }
    return c;
  }

  #refused(e: unknown): void {
    if (!this.#timeouts) return;
    this.#timeouts = false;
    const { hostname, port, session } = this.#cfg;
    const limit = session.statementTimeoutMs > 0
      ? `the collector cancels a statement after ${session.statementTimeoutMs} ms itself`
      : "statements run without a time limit";
    this.#report({
      component: "connection",
      cause: "startup_parameters_refused",
      severity: "warning",
      message: `${hostname}:${port} refused statement_timeout and lock_timeout as login settings ` +
        `(${(e as Error).message}), as PgBouncer does unless they are in its ignore_startup_parameters; ` +
        `sessions now log in without them: ${limit}, and lock waits are not limited by lock_timeout`,
    });
  }

  /** Closes every client (waiting at most `timeoutSeconds` for running statements). */
  async close(timeoutSeconds = 2): Promise<void> {
    const all = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(all.map((c) => c.end(timeoutSeconds)));
  }
}
