/**
 * OTLP export end to end: the collector process (`-P=collector`) runs against a real PostgreSQL 15
 * with pg_stat_statements and a scripted workload, and exports to a real OTLP receiver (oteltest's
 * gRPC and HTTP/protobuf sinks on loopback). Everything asserted is what the receiver decoded.
 *
 * One cluster and one receiver serve every step. Each collector run tags its requests with an
 * `x-run` header, so a step reads exactly the requests of its own runs.
 */
import assert from "node:assert/strict";
import { startCluster } from "./support/cluster.ts";
import {
  clusterEnv,
  collectorCommand,
  type CollectorRun,
  metricSetsByType,
  runCollectorProcess,
} from "./support/collector.ts";
import { type ReceivedRequest, startReceiver } from "./support/oteltest.ts";
import { assertValidDocuments } from "./support/schema.ts";
import {
  holdRowLock,
  runSlowStatements,
  setupWorkloadSchema,
  SLOW_STATEMENT_MIN_MS,
  SLOW_STATEMENTS,
  startBackgroundWaits,
  waitUntil,
  workloadMarker,
} from "./support/workload.ts";
import { OTEL_FAMILIES, otelMetricFor } from "../src/otel_adapter/metric_catalog.ts";

// ---------------------------------------------------------------------------------------------
// The receiver's protobuf JSON, flattened.

interface AnyValue {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface DataPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano: string;
  asInt?: string;
  asDouble?: number;
}
interface Metric {
  name: string;
  unit?: string;
  gauge?: { dataPoints: DataPoint[] };
  sum?: { dataPoints: DataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
}
interface LogRecord {
  eventName?: string;
  timeUnixNano?: string;
  attributes?: KeyValue[];
  body?: AnyValue;
}
type Flat = Record<string, string | number | boolean>;

/** One data point with its resource and metric. */
interface Point {
  resource: Flat;
  name: string;
  unit: string;
  kind: "gauge" | "sum";
  monotonic: boolean;
  temporality?: number;
  attrs: Flat;
  start?: bigint;
  time: bigint;
  value: number;
}

/** One log record with its resource. */
interface LogEntry {
  resource: Flat;
  eventName: string;
  attrs: Flat;
  body?: AnyValue;
}

const CUMULATIVE = 2;
const DELTA = 1;

function scalar(v: AnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  // proto3 JSON leaves out default values: an empty AnyValue is a zero of its kind.
  return v.arrayValue || v.kvlistValue ? JSON.stringify(v) : 0;
}

function flat(kvs: KeyValue[] | undefined): Flat {
  return Object.fromEntries((kvs ?? []).map((kv) => [kv.key, scalar(kv.value)]));
}

function pointsOf(requests: ReceivedRequest[]): Point[] {
  const out: Point[] = [];
  for (const r of requests) {
    // deno-lint-ignore no-explicit-any
    for (const rm of (r.request as any).resourceMetrics ?? []) {
      const resource = flat(rm.resource?.attributes);
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of (sm.metrics ?? []) as Metric[]) {
          const data = m.gauge ?? m.sum;
          assert.ok(data, `metric ${m.name} is neither a gauge nor a sum`);
          for (const p of data.dataPoints) {
            out.push({
              resource,
              name: m.name,
              unit: m.unit ?? "",
              kind: m.gauge ? "gauge" : "sum",
              monotonic: m.sum?.isMonotonic === true,
              temporality: m.sum?.aggregationTemporality,
              attrs: flat(p.attributes),
              start: p.startTimeUnixNano === undefined ? undefined : BigInt(p.startTimeUnixNano),
              time: BigInt(p.timeUnixNano),
              value: p.asDouble ?? Number(p.asInt ?? 0),
            });
          }
        }
      }
    }
  }
  return out;
}

function recordsOf(requests: ReceivedRequest[]): LogEntry[] {
  const out: LogEntry[] = [];
  for (const r of requests) {
    // deno-lint-ignore no-explicit-any
    for (const rl of (r.request as any).resourceLogs ?? []) {
      const resource = flat(rl.resource?.attributes);
      for (const sl of rl.scopeLogs ?? []) {
        for (const lr of (sl.logRecords ?? []) as LogRecord[]) {
          out.push({ resource, eventName: lr.eventName ?? "", attrs: flat(lr.attributes), body: lr.body });
        }
      }
    }
  }
  return out;
}

/** Which entity a resource describes: `database/schema/table/index`, empty parts above its level. */
function resourceEntity(r: Flat): string {
  const keys = ["postgresql.database.name", "postgresql.schema.name", "postgresql.table.name"];
  return [...keys, "postgresql.index.name"].map((k) => r[k] ?? "").join("/");
}

function seriesKey(p: Pick<Point, "resource" | "name" | "attrs">): string {
  const attrs = Object.entries(p.attrs).sort(([a], [b]) => a.localeCompare(b));
  return `${resourceEntity(p.resource)}|${p.name}|${JSON.stringify(attrs)}`;
}

/** The collector process's own counters (cumulative since that process started). */
const isSelfTelemetry = (name: string) =>
  name.startsWith("pgquerylens.collector.") || name.startsWith("pgquerylens.exporter.") ||
  name.startsWith("pgquerylens.ash.sampler.") || name === "pgquerylens.ash.evicted" ||
  name.startsWith("pgquerylens.querylens.");

/**
 * Sums measured over an interval the collector itself observed (active session history's samples,
 * a server process's CPU and delays, pressure stalls): they have a value from the first run on.
 */
const isIntervalMeasured = (name: string) =>
  name.startsWith("pgquerylens.ash.") || name.startsWith("pgquerylens.backend.") ||
  name.startsWith("system.pressure.");

/**
 * Interval-measured sums of a one-shot run that do not join the previous run's (the OS tier measures
 * a short interval of its own per run): each point covers its own interval.
 */
const isOwnIntervalOnly = (name: string) =>
  name.startsWith("pgquerylens.backend.") || name.startsWith("system.pressure.");

// ---------------------------------------------------------------------------------------------
// What the NRI output of the same collection says the OTLP output must hold.

interface NriEntity {
  name: string;
  type: string;
  id_attributes: { Key: string; Value: string }[];
}

/** One NRI base metric with an OTLP encoding, as the OTLP point it must become. */
interface Expected {
  key: string;
  name: string;
  unit: string;
  kind: string;
  value: number;
}

function nriEntity(e: NriEntity): string {
  const id = (k: string) => e.id_attributes.find((a) => a.Key === k)?.Value ?? "";
  switch (e.type) {
    case "pg-instance":
      return "///";
    case "pg-database":
      return `${e.name}///`;
    case "pg-table":
      return `${id("pg-database")}/${id("pg-schema")}/${e.name}/`;
    case "pg-index":
      return `${id("pg-database")}/${id("pg-schema")}/${id("pg-table")}/${e.name}`;
    default:
      throw new Error(`unexpected NRI entity type ${e.type}`);
  }
}

/** The OTLP series every numeric NRI base metric of `stdout` maps to (by the metric catalog). */
function expectedFromNri(stdout: string): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (const line of stdout.split("\n").filter((l) => l.trim() !== "")) {
    for (const item of JSON.parse(line).data ?? []) {
      for (const set of item.metrics ?? []) {
        for (const [nri, value] of Object.entries(set)) {
          const m = otelMetricFor(nri);
          if (m === undefined || typeof value !== "number") continue;
          const entity = m.level === "instance" ? "///" : nriEntity(item.entity);
          const attrs = Object.entries(m.attributes).sort(([a], [b]) => a.localeCompare(b));
          const key = `${entity}|${m.name}|${JSON.stringify(attrs)}`;
          out.set(key, { key, name: m.name, unit: m.unit, kind: m.kind, value });
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A TCP relay in front of the gRPC sink that counts the bytes the collector sends.

interface CountingRelay extends AsyncDisposable {
  endpoint: string;
  bytesUp(): number;
}

function startCountingRelay(targetPort: number): CountingRelay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const pipes: Promise<unknown>[] = [];
  let up = 0;
  const relay = async (client: Deno.Conn) => {
    conns.add(client);
    const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    conns.add(server);
    const count = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        up += chunk.byteLength;
        ctl.enqueue(chunk);
      },
    });
    await Promise.allSettled([
      client.readable.pipeThrough(count).pipeTo(server.writable),
      server.readable.pipeTo(client.writable),
    ]);
    for (const c of [client, server]) {
      conns.delete(c);
      try {
        c.close();
      } catch { /* already closed by its streams */ }
    }
  };
  const accepting = (async () => {
    try {
      for await (const c of listener) pipes.push(relay(c));
    } catch { /* listener closed */ }
  })();
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    bytesUp: () => up,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed meanwhile */ }
      }
      await Promise.allSettled(pipes);
    },
  };
}

// ---------------------------------------------------------------------------------------------

/** One tagged collector run and what the receiver got from it. */
interface OtlpRun extends CollectorRun {
  metrics: ReceivedRequest[];
  logs: ReceivedRequest[];
  points: Point[];
  records: LogEntry[];
}

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The workload schema's set-up statements (they carry no workload marker and never run again). */
const SETUP_STATEMENT = /^\s*(CREATE|DROP|ANALYZE|INSERT INTO)\b/i;

Deno.test("OTLP export to a real receiver: otel and hybrid modes over gRPC and HTTP/protobuf", async (t) => {
  // The harness's pg_stat_statements.track = all also counts the statement nested in the collector's
  // own EXPLAIN under the explained query's id; the application's text must still win.
  await using cluster = await startCluster({ name: "otelexport", preload: ["pg_stat_statements"] });
  await using rx = await startReceiver();
  await using relay = startCountingRelay(rx.grpcPort);
  await cluster.createExtension("postgres", "pg_stat_statements");
  await cluster.createDatabase("shop");
  await cluster.createExtension("shop", "pg_stat_statements");
  await setupWorkloadSchema(cluster, "shop");
  await runSlowStatements(cluster, "shop", { count: 3 });

  const stateDirs: string[] = [];
  const stateDir = (name: string) => {
    const dir = `/tmp/pgquerylens/test-otel-export-${crypto.randomUUID()}-${name}`;
    stateDirs.push(dir);
    return dir;
  };
  const base = {
    ...clusterEnv(cluster, "postgres", cluster.password),
    ENABLE_QUERY_MONITORING: "true",
    COLLECTION_LIST: '["shop"]',
    QUERY_MONITORING_COUNT_THRESHOLD: "30",
  };
  const http = { OTEL_EXPORTER_OTLP_ENDPOINT: rx.httpEndpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" };
  const grpc = { OTEL_EXPORTER_OTLP_ENDPOINT: relay.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" };

  const tagged = async (tag: string) => {
    const got = await rx.received();
    const mine = (r: ReceivedRequest) => r.headers["x-run"] === tag;
    return { metrics: got.metrics.filter(mine), logs: got.logs.filter(mine) };
  };
  /** Runs the collector once with its requests tagged `tag` (plus `headers`), expecting exit 0. */
  const otlpRun = async (
    tag: string,
    args: string[],
    env: Record<string, string>,
    headers = "",
  ): Promise<OtlpRun> => {
    const run = await runCollectorProcess(args, {
      ...base,
      ...env,
      OTEL_EXPORTER_OTLP_HEADERS: `x-run=${tag}${headers === "" ? "" : `,${headers}`}`,
    });
    assert.equal(run.code, 0, run.stderr);
    const { metrics, logs } = await tagged(tag);
    assert.ok(metrics.length >= 1, `run ${tag}: no metrics request arrived\n${run.stderr}`);
    return { ...run, metrics, logs, points: pointsOf(metrics), records: recordsOf(logs) };
  };

  try {
    const metricsDir = stateDir("metrics");
    const hybrid = await otlpRun("hybrid", ["-mode=hybrid"], { ...http, TEMP_DIR: metricsDir });
    const expected = expectedFromNri(hybrid.stdout);
    const overHttp = await otlpRun("otel-http", ["-mode=otel", "-verbose"], {
      ...http,
      TEMP_DIR: metricsDir,
    });
    const bytesBefore = relay.bytesUp();
    const overGrpc = await otlpRun("otel-grpc", ["-mode=otel"], { ...grpc, TEMP_DIR: metricsDir });
    const plainGrpcBytes = relay.bytesUp() - bytesBefore;
    const allRuns = [hybrid, overHttp, overGrpc];

    await t.step(
      "hybrid: the NRI documents of nri mode on stdout, and OTLP of the same collection",
      async () => {
        const docs = assertValidDocuments(hybrid.stdout);
        assert.ok(docs.length >= 1);
        const nri = await runCollectorProcess([], { ...base, TEMP_DIR: stateDir("nri") });
        assert.equal(nri.code, 0, nri.stderr);
        const types = (stdout: string) => [...metricSetsByType(stdout).keys()].sort();
        assert.deepEqual(types(hybrid.stdout), types(nri.stdout));
        assert.ok(types(hybrid.stdout).includes("PostgresqlDatabaseSample"));

        // Every numeric NRI base metric is one OTLP series, and there is no other base series.
        const got = new Map(
          hybrid.points.filter((p) => Object.hasOwn(OTEL_FAMILIES, p.name)).map((p) => [seriesKey(p), p]),
        );
        assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
        // Gauges and up-down sums hold the same value as the NRI metric of the same cycle.
        const current = [...expected.values()].filter((e) => e.kind !== "sum");
        assert.ok(current.some((e) => e.name === "postgresql.backends"), "numbackends is compared");
        for (const e of current) {
          assert.equal(got.get(e.key)!.value, e.value, `${e.key}: OTLP vs NRI`);
        }
        const backends = current.find((e) => e.key.startsWith("shop///|postgresql.backends|"));
        assert.ok(backends && backends.value >= 1, "the collector's own session is a backend of shop");
      },
    );

    await t.step("otel mode over HTTP/protobuf and gRPC: no NRI output, the right transport", () => {
      for (const [run, transport] of [[overHttp, "http"], [overGrpc, "grpc"]] as const) {
        assert.equal(run.stdout, "", "otel mode writes nothing on stdout");
        for (const r of [...run.metrics, ...run.logs]) assert.equal(r.transport, transport);
      }
    });

    await t.step("metric names and units are the catalog's, contrib names included", () => {
      const names = new Set([...expected.values()].map((e) => e.name));
      for (const contrib of ["postgresql.commits", "postgresql.backends", "postgresql.blks_hit"]) {
        assert.ok(OTEL_FAMILIES[contrib].contrib && names.has(contrib), contrib);
      }
      for (const run of allRuns) {
        const got = new Set(run.points.map((p) => p.name));
        for (const n of names) assert.ok(got.has(n), `${n} missing from an OTLP export`);
        for (const p of run.points.filter((p) => Object.hasOwn(OTEL_FAMILIES, p.name))) {
          assert.notEqual(p.unit, "");
          assert.equal(p.unit, OTEL_FAMILIES[p.name].unit, p.name);
          const kind = OTEL_FAMILIES[p.name].kind;
          assert.equal(p.kind, kind === "gauge" ? "gauge" : "sum", p.name);
          assert.equal(p.monotonic, kind === "sum", p.name);
        }
      }
    });

    await t.step("every resource identifies the service, the server and its entity", () => {
      const ids = new Set<unknown>();
      for (const run of allRuns) {
        for (const r of [...run.points.map((p) => p.resource), ...run.records.map((x) => x.resource)]) {
          assert.equal(r["service.name"], "pgquerylens");
          assert.match(String(r["service.instance.id"]), UUID_V5);
          ids.add(r["service.instance.id"]);
          assert.equal(r["db.system.name"], "postgresql");
          assert.equal(r["server.address"], cluster.host);
          assert.equal(r["server.port"], cluster.port);
        }
        const dbResources = run.points.filter((p) => p.name === "postgresql.commits").map((p) => p.resource);
        assert.ok(dbResources.length >= 1);
        for (const r of dbResources) assert.equal(r["postgresql.database.name"], "shop");
        const tables = run.points.filter((p) => p.name === "postgresql.table.size").map((p) => p.resource);
        assert.deepEqual(tables.map((r) => r["postgresql.table.name"]).sort(), ["customers", "orders"]);
        for (const r of tables) assert.equal(r["postgresql.schema.name"], "public");
      }
      assert.equal(ids.size, 1, "service.instance.id is the same in every run");
    });

    await t.step("cumulative sums keep their true start time across one-shot runs", () => {
      const runTime = hybrid.points.find((p) => p.name === "postgresql.backends")!.time;
      const firstStart = new Map<string, bigint>();
      for (const p of hybrid.points.filter((p) => p.monotonic && !isSelfTelemetry(p.name))) {
        firstStart.set(seriesKey(p), p.start!);
      }
      let carried = 0;
      for (const run of allRuns) {
        const sums = run.points.filter((p) => p.monotonic);
        assert.ok(sums.length > 0);
        for (const p of sums) {
          assert.equal(p.temporality, CUMULATIVE, p.name);
          assert.ok(p.start !== undefined && p.start <= p.time, `${p.name}: start ${p.start} > ${p.time}`);
          if (run === hybrid || isSelfTelemetry(p.name) || isOwnIntervalOnly(p.name)) continue;
          if (!firstStart.has(seriesKey(p))) continue;
          assert.equal(p.start, firstStart.get(seriesKey(p)), `${seriesKey(p)}: start moved`);
          assert.ok(p.time > runTime);
          if (p.start === runTime) carried++;
        }
      }
      // Series without a stats_reset start at their first observation, the first run's time.
      assert.ok(carried > 0, "no series started at the first run's time");
    });

    await t.step("delta temporality: the second run's sums cover the time since the first run", async () => {
      const dir = stateDir("delta");
      const env = { ...http, TEMP_DIR: dir, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: "delta" };
      const first = await otlpRun("delta-1", ["-mode=otel"], env);
      assert.deepEqual(
        first.points.filter((p) => p.monotonic && !isSelfTelemetry(p.name) && !isIntervalMeasured(p.name)),
        [],
      );
      const firstTime = first.points.find((p) => p.name === "postgresql.backends")!.time;
      await cluster.sql("shop").unsafe("SELECT count(*) FROM orders");
      const second = await otlpRun("delta-2", ["-mode=otel"], env);
      const sums = second.points.filter((p) =>
        p.monotonic && !isSelfTelemetry(p.name) && !isOwnIntervalOnly(p.name)
      );
      assert.ok(sums.some((p) => p.name === "postgresql.commits"));
      for (const p of sums) {
        assert.equal(p.temporality, DELTA, p.name);
        assert.equal(p.start, firstTime, `${seriesKey(p)}: delta starts at the previous observation`);
        assert.ok(p.time > firstTime && p.value >= 0);
      }
      const commits = sums.find((p) => p.name === "postgresql.commits")!;
      assert.ok(commits.value >= 1, "the query between the runs committed");
      for (const p of second.points.filter((p) => p.kind === "sum" && !p.monotonic)) {
        assert.equal(p.temporality, CUMULATIVE, `${p.name}: up-down sums stay cumulative`);
      }
    });

    // Log records: two one-shot hybrid runs sharing their state, with the workload's statements run
    // once more in between and background sessions sleeping, locking and waiting throughout.
    const logsDir = stateDir("logs");
    const waits = await startBackgroundWaits(cluster, "shop", { durationMs: 30_000 });
    const lock = await holdRowLock(cluster, "shop");
    let logsRun!: OtlpRun;
    let slowIds!: Map<string, string>;
    try {
      const env = { ...grpc, TEMP_DIR: logsDir };
      const first = await otlpRun("logs-1", ["-mode=hybrid"], env);
      await runSlowStatements(cluster, "shop", { count: 1 });
      logsRun = await otlpRun("logs-2", ["-mode=hybrid"], env);
      const inBoth = (run: CollectorRun) =>
        new Map((metricSetsByType(run.stdout).get("PostgresSlowQueries") ?? []).map((q) => [
          String(q.query_id),
          String(q.query_text),
        ]));
      const before = inBoth(first);
      slowIds = new Map([...inBoth(logsRun)].filter(([id]) => before.has(id)));
    } finally {
      await lock.release();
      await waits.stop();
    }

    await t.step("log records: top queries, samples, waits, blocking sessions and plans", () => {
      const byEvent = Map.groupBy(logsRun.records, (r) => r.eventName);
      for (
        const e of [
          "db.server.top_query",
          "db.server.query_sample",
          "pgquerylens.wait_event",
          "pgquerylens.blocking_session",
          "pgquerylens.plan",
        ]
      ) {
        assert.ok(byEvent.has(e), `no ${e} record; got ${[...byEvent.keys()]}`);
      }
      for (const r of [...logsRun.metrics, ...logsRun.logs]) assert.equal(r.transport, "grpc");
      for (const r of logsRun.records) {
        assert.equal(r.attrs["db.system.name"], "postgresql", r.eventName);
        assert.equal(r.attrs["db.namespace"], "shop", r.eventName);
      }
      const top = byEvent.get("db.server.top_query")!;
      for (const r of top) {
        const text = String(r.attrs["db.query.text"]);
        for (const k of ["postgresql.queryid", "postgresql.calls", "postgresql.total_exec_time"]) {
          assert.ok(k in r.attrs, `${k} missing on ${text}`);
        }
        assert.equal(typeof r.attrs["db.query.summary"], "string", text);
        assert.notEqual(r.attrs["db.query.summary"], "");
        const withoutMarkers = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\$\d+/g, "");
        assert.doesNotMatch(withoutMarkers, /'[^']*'|\b\d+(\.\d+)?\b/, `literal in ${text}`);
        assert.equal(text, slowIds.get(String(r.attrs["postgresql.queryid"])), "the NRI slow query's text");
      }
      // A query that did not run between the runs gives no record.
      const notRerun = [...slowIds].filter(([, text]) => SETUP_STATEMENT.test(text));
      assert.ok(notRerun.length >= 1, "a set-up statement is among the slow queries");
      for (const [id] of notRerun) assert.ok(!top.some((r) => r.attrs["postgresql.queryid"] === id), id);
      // Each workload statement ran exactly once between the runs: its record holds that execution.
      for (const s of SLOW_STATEMENTS) {
        const r = top.find((x) => String(x.attrs["db.query.text"]).includes(workloadMarker(s.name)));
        assert.ok(r, `no top_query record for ${s.name}`);
        assert.equal(r.attrs["postgresql.calls"], 1, s.name);
        assert.ok((r.attrs["postgresql.total_exec_time"] as number) >= SLOW_STATEMENT_MIN_MS, s.name);
        assert.match(String(r.attrs["db.query.summary"]), new RegExp(`^${s.command}\\b`), s.name);
      }
      const blocked = byEvent.get("pgquerylens.blocking_session")!.find((r) =>
        r.attrs["postgresql.pid"] === lock.blockedPid
      );
      assert.ok(blocked, "the held row lock's blocked session");
      assert.equal(blocked.attrs["postgresql.blocking.pid"], lock.blockingPid);
      assert.ok(
        byEvent.get("pgquerylens.wait_event")!.some((r) => r.attrs["postgresql.wait_event_type"] === "Lock"),
      );
    });

    await t.step("every plan record joins a top-query record on query id and db.namespace", () => {
      const key = (r: LogEntry, id: string) => `${r.attrs[id]}\u0000${r.attrs["db.namespace"]}`;
      const top = new Set(
        logsRun.records.filter((r) => r.eventName === "db.server.top_query").map((r) =>
          key(r, "postgresql.queryid")
        ),
      );
      const samples = logsRun.records.filter((r) => r.eventName === "db.server.query_sample");
      const plans = logsRun.records.filter((r) => r.eventName === "pgquerylens.plan");
      assert.ok(plans.length >= 1);
      for (const p of plans) {
        assert.ok(
          top.has(key(p, "postgresql.queryid")),
          `plan of ${p.attrs["postgresql.queryid"]} joins nothing`,
        );
        assert.ok(
          samples.some((s) =>
            key(s, "postgresql.query_id") === key(p, "postgresql.queryid") &&
            s.attrs["postgresql.plan_id"] === p.attrs["postgresql.plan_id"]
          ),
          "a query sample used the plan",
        );
        const nodes = p.body?.arrayValue?.values ?? [];
        assert.equal(nodes.length, p.attrs["postgresql.plan.node_count"]);
        for (const n of nodes) {
          const node = flat(n.kvlistValue?.values);
          assert.equal(typeof node["Node Type"], "string");
          assert.notEqual(node["Node Type"], "");
        }
        assert.equal(flat(nodes[0].kvlistValue?.values)["Level"], 0);
      }
    });

    await t.step("headers reach HTTP and gRPC; gzip-compressed requests are delivered", async () => {
      const overHttpGzip = await otlpRun(
        "gzip-http",
        ["-mode=otel"],
        { ...http, TEMP_DIR: stateDir("gzip-http"), OTEL_EXPORTER_OTLP_COMPRESSION: "gzip" },
        "x-tenant=t1",
      );
      for (const r of overHttpGzip.metrics) {
        assert.equal(r.headers["x-tenant"], "t1");
        assert.equal(r.headers["content-encoding"], "gzip");
      }
      assert.ok(overHttpGzip.points.some((p) => p.name === "postgresql.commits"));

      const before = relay.bytesUp();
      const overGrpcGzip = await otlpRun(
        "gzip-grpc",
        ["-mode=otel"],
        { ...grpc, TEMP_DIR: stateDir("gzip-grpc"), OTEL_EXPORTER_OTLP_COMPRESSION: "gzip" },
        "x-tenant=t1",
      );
      const gzipBytes = relay.bytesUp() - before;
      for (const r of overGrpcGzip.metrics) assert.equal(r.headers["x-tenant"], "t1");
      assert.deepEqual(
        new Set(overGrpcGzip.points.map((p) => p.name)),
        new Set(overGrpc.points.map((p) => p.name)),
      );
      // gRPC metadata does not show the message encoding: the bytes on the wire do.
      assert.ok(gzipBytes < plainGrpcBytes / 2, `gzip sent ${gzipBytes} bytes, plain ${plainGrpcBytes}`);
    });

    await t.step("OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES reach every resource", async () => {
      const run = await otlpRun("service", ["-mode=otel"], {
        ...http,
        TEMP_DIR: stateDir("service"),
        OTEL_SERVICE_NAME: "orders-db",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test,service.name=ignored",
      });
      const resources = [...run.points.map((p) => p.resource), ...run.records.map((r) => r.resource)];
      assert.ok(resources.length > 1);
      for (const r of resources) {
        assert.equal(r["service.name"], "orders-db");
        assert.equal(r["deployment.environment.name"], "test");
        assert.equal(r["service.instance.id"], overHttp.points[0].resource["service.instance.id"]);
      }
    });

    await t.step("self-telemetry is exported and -verbose logs the otlp summary", async () => {
      for (const run of allRuns) {
        const own = run.points.filter((p) => isSelfTelemetry(p.name));
        for (const p of own) assert.equal(resourceEntity(p.resource), "///", `${p.name} on the instance`);
        const duration = own.filter((p) => p.name === "pgquerylens.collector.cycle.duration");
        assert.equal(duration.length, 1);
        assert.equal(duration[0].unit, "s");
        assert.equal(duration[0].kind, "gauge");
        assert.ok(duration[0].value > 0 && duration[0].value < 60, `cycle took ${duration[0].value} s`);
        const requests = own.filter((p) => p.name === "pgquerylens.exporter.requests");
        assert.deepEqual(
          requests.map((p) => `${p.attrs["pgquerylens.signal"]}/${p.attrs["pgquerylens.outcome"]}`).sort(),
          ["logs/dropped", "logs/failed", "logs/sent", "metrics/dropped", "metrics/failed", "metrics/sent"],
        );
        assert.ok(requests.every((p) => p.unit === "{request}" && p.monotonic && p.value === 0));
      }
      assert.match(overHttp.stderr, /^\[DEBUG\] otlp: cycle \d+ ms; metrics: 0 sent, /m);
      assert.ok(
        overHttp.stderr.includes(`OTLP at exit: {"metrics":{"sent":${overHttp.metrics.length},`),
        overHttp.stderr,
      );

      // A daemon's second cycle counts the first cycle's requests as sent.
      const tag = "daemon";
      const cycles = async () =>
        (await tagged(tag)).metrics.map((r, i) => ({ i, points: pointsOf([r]) }))
          .filter((r) => r.points.some((p) => p.name === "pgquerylens.collector.cycle.duration"));
      const env = { ...base, ...http, OTEL_EXPORTER_OTLP_HEADERS: `x-run=${tag}` };
      const child = collectorCommand(["-mode=otel", "-interval=1s", "-verbose"], env).spawn();
      const output = child.output();
      try {
        await waitUntil("two daemon cycles", async () => (await cycles()).length >= 2, 30_000);
      } finally {
        child.kill("SIGTERM");
      }
      const out = await output;
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.ok(stderr.match(/^\[DEBUG\] otlp: /gm)!.length >= 2, stderr);
      const second = (await cycles())[1];
      const sent = second.points.find((p) =>
        p.name === "pgquerylens.exporter.requests" && p.attrs["pgquerylens.signal"] === "metrics" &&
        p.attrs["pgquerylens.outcome"] === "sent"
      );
      assert.equal(sent?.value, second.i, "every request of the first cycle was sent");
    });

    await t.step("invalid OTLP settings exit 1 naming the variable or file", async () => {
      const cases: [string[], Record<string, string>, RegExp][] = [
        [
          ["-mode=otel"],
          { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" },
          /OTEL_EXPORTER_OTLP_PROTOCOL.*http\/json/,
        ],
        [
          ["-mode=hybrid"],
          { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "notaurl" },
          /OTEL_EXPORTER_OTLP_LOGS_ENDPOINT.*notaurl/,
        ],
        [
          ["-mode=otel", "-otel_certificate=/etc/pgquerylens/missing.pem"],
          http,
          /\/etc\/pgquerylens\/missing\.pem/,
        ],
      ];
      for (const [args, env, message] of cases) {
        const run = await runCollectorProcess(args, { ...base, TEMP_DIR: stateDir("invalid"), ...env });
        assert.equal(run.code, 1, `${args} ${JSON.stringify(env)}: ${run.stderr}`);
        assert.equal(run.stdout, "");
        assert.match(run.stderr, /\[ERROR\]/);
        assert.match(run.stderr, message);
      }
    });
  } finally {
    for (const dir of stateDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
