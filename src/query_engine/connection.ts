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

/** A postgres.js client. */
export type Sql = postgres.Sql;

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
  readonly #clients = new Map<string, Sql>();
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
   * The client for `database`, created on first use. `purpose` keeps separate sessions for work
   * that runs concurrently with the main one (e.g. activity sampling).
   */
  sql(database: string, purpose = "main"): Sql {
    const key = `${purpose}\u0000${database}`;
    let c = this.#clients.get(key);
    if (!c) {
      c = postgres(connectionOptions(this.#cfg, database, this.#readFile));
      this.#clients.set(key, c);
    }
    return c;
  }

  /** Closes every client (waiting at most `timeoutSeconds` for running statements). */
  async close(timeoutSeconds = 2): Promise<void> {
    const all = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(all.map((c) => c.end({ timeout: timeoutSeconds })));
  }
}
