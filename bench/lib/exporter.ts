/**
 * Debian's prometheus-postgres-exporter as a side-by-side baseline: its queries file, starting it on
 * a free local port, and scraping `/metrics` with the exporter's CPU time, wall time and peak
 * memory measured from `/proc`.
 *
 * The exporter runs with `--auto-discover-databases` (every database that accepts connections) and
 * `--extend.query-path` pointing at {@link exporterQueriesYaml}: per-table and per-index queries
 * over pg_stat_user_tables, pg_statio_user_tables and pg_stat_user_indexes that read the columns the
 * collector's table and index samples read, so both sides do comparable work. Its default metrics
 * (pg_stat_database, pg_stat_bgwriter, pg_settings, locks, activity, replication) stay on, as
 * Debian ships it.
 *
 * @module
 */

import { stringify } from "yaml";
import { parsePromText, type Series } from "./prom_text.ts";
import { cpuDeltaMs, peakRssKb, readCpu, settledCpu } from "./proc_usage.ts";

/** Path of the exporter installed by `scripts/setup.sh`. */
export const EXPORTER_BINARY = "/usr/bin/prometheus-postgres-exporter";

/** Metric name prefixes of the queries in {@link exporterQueriesYaml}, one per query. */
export const EXPORTER_QUERY_NAMESPACES = [
  "pg_stat_user_tables",
  "pg_statio_user_tables",
  "pg_stat_user_indexes",
] as const;

/** Label columns of a table row of the exporter's queries. */
export const TABLE_LABELS = ["datname", "schemaname", "relname"] as const;
/** Label columns of an index row of the exporter's queries. */
export const INDEX_LABELS = [...TABLE_LABELS, "indexrelname"] as const;

type Usage = "LABEL" | "COUNTER" | "GAUGE";

/** One query of the exporter's queries file: SQL and its columns (usage, description). */
interface ExporterQuery {
  query: string;
  columns: [name: string, usage: Usage, description: string][];
}

const labelColumns = (names: readonly string[]): ExporterQuery["columns"] =>
  names.map((n) => [n, "LABEL", `${n} of the row`]);

const epoch = (col: string) => `coalesce(extract(epoch FROM ${col}), 0) AS ${col}`;

/** The exporter's queries, by namespace (metric name prefix). */
const QUERIES: Record<(typeof EXPORTER_QUERY_NAMESPACES)[number], ExporterQuery> = {
  pg_stat_user_tables: {
    query: `SELECT current_database() AS datname, schemaname, relname,
  seq_scan, seq_tup_read, coalesce(idx_scan, 0) AS idx_scan, coalesce(idx_tup_fetch, 0) AS idx_tup_fetch,
  n_tup_ins, n_tup_upd, n_tup_del, n_live_tup, n_dead_tup,
  ${epoch("last_vacuum")}, ${epoch("last_autovacuum")}, ${epoch("last_analyze")}, ${
      epoch("last_autoanalyze")
    },
  pg_total_relation_size(relid) AS total_size_bytes, pg_indexes_size(relid) AS index_size_bytes
FROM pg_stat_user_tables`,
    columns: [
      ...labelColumns(TABLE_LABELS),
      ["seq_scan", "COUNTER", "Sequential scans"],
      ["seq_tup_read", "COUNTER", "Rows fetched by sequential scans"],
      ["idx_scan", "COUNTER", "Index scans"],
      ["idx_tup_fetch", "COUNTER", "Rows fetched by index scans"],
      ["n_tup_ins", "COUNTER", "Rows inserted"],
      ["n_tup_upd", "COUNTER", "Rows updated"],
      ["n_tup_del", "COUNTER", "Rows deleted"],
      ["n_live_tup", "GAUGE", "Estimated live rows"],
      ["n_dead_tup", "GAUGE", "Estimated dead rows"],
      ["last_vacuum", "GAUGE", "Last manual vacuum, Unix seconds (0: never)"],
      ["last_autovacuum", "GAUGE", "Last autovacuum, Unix seconds (0: never)"],
      ["last_analyze", "GAUGE", "Last manual analyze, Unix seconds (0: never)"],
      ["last_autoanalyze", "GAUGE", "Last autoanalyze, Unix seconds (0: never)"],
      ["total_size_bytes", "GAUGE", "Size of the table with its indexes and TOAST"],
      ["index_size_bytes", "GAUGE", "Size of the table's indexes"],
    ],
  },
  pg_statio_user_tables: {
    query: `SELECT current_database() AS datname, schemaname, relname,
  coalesce(idx_blks_read, 0) AS idx_blks_read, coalesce(idx_blks_hit, 0) AS idx_blks_hit,
  coalesce(toast_blks_read, 0) AS toast_blks_read, coalesce(toast_blks_hit, 0) AS toast_blks_hit
FROM pg_statio_user_tables`,
    columns: [
      ...labelColumns(TABLE_LABELS),
      ["idx_blks_read", "COUNTER", "Index blocks read"],
      ["idx_blks_hit", "COUNTER", "Index buffer hits"],
      ["toast_blks_read", "COUNTER", "TOAST blocks read"],
      ["toast_blks_hit", "COUNTER", "TOAST buffer hits"],
    ],
  },
  pg_stat_user_indexes: {
    query: `SELECT current_database() AS datname, schemaname, relname, indexrelname,
  idx_tup_read, idx_tup_fetch, pg_relation_size(indexrelid) AS size_bytes
FROM pg_stat_user_indexes`,
    columns: [
      ...labelColumns(INDEX_LABELS),
      ["idx_tup_read", "COUNTER", "Index entries returned by scans"],
      ["idx_tup_fetch", "COUNTER", "Live rows fetched by simple index scans"],
      ["size_bytes", "GAUGE", "Size of the index"],
    ],
  },
};

/**
 * The exporter's queries file (`--extend.query-path`): one query per namespace of
 * {@link EXPORTER_QUERY_NAMESPACES}, run in every discovered database (`master: false`), uncached.
 */
export function exporterQueriesYaml(): string {
  const doc = Object.fromEntries(
    Object.entries(QUERIES).map(([namespace, q]) => [namespace, {
      query: q.query,
      master: false,
      cache_seconds: 0,
      metrics: q.columns.map(([name, usage, description]) => ({ [name]: { usage, description } })),
    }]),
  );
  return stringify(doc, { lineWidth: 0 });
}

/** Where and as whom the exporter connects. */
export interface ExporterTarget {
  /** Server host. */
  host: string;
  /** Server port. */
  port: number;
  /** Login role. */
  user: string;
  /** Its password. */
  password: string;
  /** Database of the main connection (the others are discovered); `postgres` by default. */
  database?: string;
  /** application_name of its sessions; `postgres_exporter` by default. */
  applicationName?: string;
}

/** The exporter's `DATA_SOURCE_NAME` for `t`: a URI, TLS off. */
export function exporterDsn(t: ExporterTarget): string {
  const params = new URLSearchParams({
    sslmode: "disable",
    application_name: t.applicationName ?? "postgres_exporter",
  });
  const auth = `${encodeURIComponent(t.user)}:${encodeURIComponent(t.password)}`;
  return `postgresql://${auth}@${t.host}:${t.port}/${encodeURIComponent(t.database ?? "postgres")}?${params}`;
}

/** The version the exporter binary reports, e.g. `0.11.1`. */
export async function exporterVersion(binary = EXPORTER_BINARY): Promise<string> {
  const out = await new Deno.Command(binary, { args: ["--version"], stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const m = /version (\S+)/.exec(text);
  if (!out.success || !m) throw new Error(`${binary} --version failed or printed no version: ${text.trim()}`);
  return m[1];
}

/** Options of {@link startExporter}. */
export interface ExporterOptions {
  /** Connection of the exporter. */
  target: ExporterTarget;
  /** Path of the queries file (write {@link exporterQueriesYaml} there). */
  queriesFile: string;
  /** The exporter binary; {@link EXPORTER_BINARY} by default. */
  binary?: string;
  /** Fail when it does not listen within this many ms; 10000 by default. */
  startTimeoutMs?: number;
}

/** One scrape of `/metrics`. */
export interface Scrape {
  /** The response body. */
  body: string;
  /** Its series. */
  series: Series[];
  /** Time from sending the request to the last byte of the body, ms. */
  wallMs: number;
  /** CPU time the exporter used for the scrape (including work right after answering), ms. */
  cpuMs: number;
}

/** A running exporter. */
export interface RunningExporter {
  /** Its process id. */
  pid: number;
  /** URL of its `/metrics`. */
  url: string;
  /** `performance.now()` when it was spawned. */
  spawnedAt: number;
  /** Time from spawn until it accepted TCP connections, ms. */
  readyMs: number;
  /** Scrapes `/metrics` once, measuring the exporter's CPU and the wall time. */
  scrape(): Promise<Scrape>;
  /** CPU time (user + system) of the exporter since it started, ms (10 ms resolution). */
  totalCpuMs(): number;
  /** Peak resident set size (VmHWM) so far, KiB. */
  peakRssKb(): number;
  /** The tail of what the exporter wrote on stdout and stderr. */
  log(): string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s); safe to call more than once. */
  stop(): Promise<void>;
  /** Same as stop(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const LOG_KEEP = 64 * 1024;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts the exporter on a free 127.0.0.1 port and waits until it accepts connections.
 *
 * @throws Error (with its log) when it exits or does not listen in time.
 */
export async function startExporter(opts: ExporterOptions): Promise<RunningExporter> {
  const binary = opts.binary ?? EXPORTER_BINARY;
  const port = freePort();
  const spawnedAt = performance.now();
  const child = new Deno.Command(binary, {
    args: [
      `--web.listen-address=127.0.0.1:${port}`,
      "--auto-discover-databases",
      `--extend.query-path=${opts.queriesFile}`,
      "--log.level=warn",
    ],
    env: { DATA_SOURCE_NAME: exporterDsn(opts.target) },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let logText = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      logText = (logText + chunk).slice(-LOG_KEEP);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exited) child.kill("SIGTERM");
      const timer = setTimeout(() => {
        if (!exited) child.kill("SIGKILL");
      }, 5000);
      await status;
      clearTimeout(timer);
      await drained;
    })();
    return stopping;
  };

  try {
    const deadline = spawnedAt + (opts.startTimeoutMs ?? 10_000);
    while (true) {
      if (exited) throw new Error(`exporter exited with ${(await status).code}:\n${logText.trim()}`);
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch {
        if (performance.now() > deadline) {
          throw new Error(`exporter did not listen on 127.0.0.1:${port} in time:\n${logText.trim()}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const readyMs = performance.now() - spawnedAt;
  const url = `http://127.0.0.1:${port}/metrics`;

  return {
    pid: child.pid,
    url,
    spawnedAt,
    readyMs,
    async scrape(): Promise<Scrape> {
      const before = readCpu(child.pid);
      const started = performance.now();
      const res = await fetch(url, { headers: { "Accept-Encoding": "identity" } });
      const body = await res.text();
      const wallMs = performance.now() - started;
      const after = await settledCpu(child.pid);
      if (!res.ok) {
        throw new Error(
          `GET ${url}: HTTP ${res.status}: ${body.slice(0, 500)}\n--- exporter log ---\n${logText}`,
        );
      }
      return { body, series: parsePromText(body), wallMs, cpuMs: cpuDeltaMs(before, after) };
    },
    totalCpuMs: () => readCpu(child.pid).statMs,
    peakRssKb: () => peakRssKb(child.pid),
    log: () => logText,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Fails when a scrape shows that the exporter did not scrape everything: the server down
 * (`pg_up`), an error in the scrape (`pg_exporter_last_scrape_error`), the queries file not loaded
 * (`pg_exporter_user_queries_load_error`) or a failed built-in collector
 * (`pg_scrape_collector_success`).
 *
 * @throws Error naming each failed check, with the exporter's log.
 */
export function checkScrape(series: readonly Series[], log = ""): void {
  const problems: string[] = [];
  const values = (name: string) => series.filter((s) => s.name === name);
  const expect = (name: string, wanted: number) => {
    const found = values(name);
    if (found.length === 0) problems.push(`no ${name} series`);
    for (const s of found) {
      if (s.value !== wanted) {
        problems.push(`${name}${JSON.stringify(s.labels)} = ${s.value}, want ${wanted}`);
      }
    }
  };
  expect("pg_up", 1);
  expect("pg_exporter_last_scrape_error", 0);
  expect("pg_exporter_user_queries_load_error", 0);
  for (const s of values("pg_scrape_collector_success")) {
    if (s.value !== 1) problems.push(`collector ${s.labels.collector ?? "?"} failed`);
  }
  if (problems.length > 0) {
    throw new Error(
      `exporter scrape incomplete: ${problems.join("; ")}\n--- exporter log ---\n${log.trim()}`,
    );
  }
}
