/**
 * Connections: one postgres.js client per database, reused across cycles.
 *
 * Every session carries `application_name`, `statement_timeout` and `lock_timeout` as startup
 * parameters, so a reconnect (postgres.js reconnects lazily after a failure) gets them again
 * without a round trip. Database names are connection parameters, never spliced into SQL.
 *
 * @module
 */

import postgres from "postgres";
import type { Config } from "../config/types.ts";

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

/**
 * A session over a postgres.js client that is replaced after a connection failure: the driver's
 * own reconnect can leave the next statement waiting forever when a statement races the
 * termination of its backend, so a failed client is ended and a fresh one serves the next call.
 */
class ManagedSession implements Session {
  readonly #create: () => postgres.Sql;
  #client?: postgres.Sql;
  #closed = false;

  constructor(create: () => postgres.Sql) {
    this.#create = create;
  }

  async unsafe(text: string, params: unknown[] = [], options?: StatementOptions): Promise<Row[]> {
    if (this.#closed) throw new Error("session closed");
    const client = this.#client ??= this.#create();
    try {
      return await client.unsafe(text, params as never[], options as never);
    } catch (e) {
      if (isConnectionError(e) && this.#client === client) {
        this.#client = undefined;
        client.end({ timeout: 0 }).catch(() => {});
      }
      throw e;
    }
  }

  async end(timeoutSeconds: number): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end({ timeout: timeoutSeconds });
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

/** Builds postgres.js options for `database` from the configuration. */
export function connectionOptions(
  cfg: ConnectionConfig,
  database: string,
  readFile: ReadFile = Deno.readTextFileSync,
): postgres.Options<never> {
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
    connection: {
      application_name: cfg.session.applicationName,
      statement_timeout: cfg.session.statementTimeoutMs,
      lock_timeout: cfg.session.lockTimeoutMs,
    },
  };
  return options as postgres.Options<never>;
}

/** Keeps one client per database for the life of the collector. */
export class ConnectionManager {
  readonly #cfg: ConnectionConfig;
  readonly #clients = new Map<string, ManagedSession>();
  readonly #readFile: ReadFile;

  /**
   * @param cfg connection settings
   * @param readFile reads TLS material
   */
  constructor(cfg: ConnectionConfig, readFile: ReadFile = Deno.readTextFileSync) {
    this.#cfg = cfg;
    this.#readFile = readFile;
  }

  /**
   * The session for `database`, created on first use. `purpose` keeps separate sessions for work
   * that runs concurrently with the main one (e.g. activity sampling).
   */
  sql(database: string, purpose = "main"): Sql {
    const key = `${purpose}\u0000${database}`;
    let c = this.#clients.get(key);
    if (!c) {
      c = new ManagedSession(() => postgres(connectionOptions(this.#cfg, database, this.#readFile)));
      this.#clients.set(key, c);
    }
    return c;
  }

  /** Closes every client (waiting at most `timeoutSeconds` for running statements). */
  async close(timeoutSeconds = 2): Promise<void> {
    const all = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(all.map((c) => c.end(timeoutSeconds)));
  }
}
