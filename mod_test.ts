import assert from "node:assert/strict";
import * as lib from "./mod.ts";
import {
  Collector,
  ConfigError,
  createLogger,
  emptySnapshot,
  encodeQpmDocuments,
  initSqlParser,
  IssueReporter,
  loadConfig,
  nriOptionsFromConfig,
  nriPublishOrder,
  parseCollectionList,
  QPM_EVENT_TYPES,
  resolveOtelSettings,
  runCollector,
  type SlowQuery,
  VERSION,
} from "./mod.ts";
import denoJson from "./deno.json" with { type: "json" };
import { startCluster } from "./tests/support/cluster.ts";

/** The run-time exports the library entry promises, with their kind. */
const PROMISED: Record<string, "function" | "object" | "string"> = {
  // src/core/model.ts
  emptySnapshot: "function",
  // src/core/catalog.ts
  SLOW_QUERIES: "object",
  WAIT_EVENTS: "object",
  BLOCKING_SESSIONS: "object",
  INDIVIDUAL_QUERIES: "object",
  EXECUTION_PLANS: "object",
  QPM_EVENT_TYPES: "object",
  qpmPublishOrder: "function",
  SLOW_QUERY_DETAIL_FIELDS: "object",
  SLOW_QUERY_DETAILS: "object",
  EXTENDED_EVENT_TYPES: "object",
  nriPublishOrder: "function",
  // logging, configuration, collection, encoding, running
  createLogger: "function",
  IssueReporter: "function",
  ConfigError: "function",
  loadConfig: "function",
  parseCollectionList: "function",
  Collector: "function",
  initSqlParser: "function",
  encodeQpmDocuments: "function",
  nriOptionsFromConfig: "function",
  runCollector: "function",
  resolveOtelSettings: "function",
  // pg_querylens
  QUERYLENS_EVENT_TYPES: "object",
  openRingReader: "function",
  QueryLensReaderError: "function",
  decodeRecord: "function",
  WAIT_CLASSES: "object",
  readQueryLensInfo: "function",
  readQueryLensRecords: "function",
  VERSION: "string",
};

/** An environment reader over `vars` (the collector reads only names it knows). */
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
const noFiles = (path: string): string => {
  throw new Deno.errors.NotFound(path);
};

Deno.test("mod.ts exports everything it promises", () => {
  const exported = lib as unknown as Record<string, unknown>;
  for (const [name, kind] of Object.entries(PROMISED)) {
    assert.ok(name in exported, `${name} is exported`);
    assert.equal(typeof exported[name], kind, name);
  }
});

Deno.test("mod.ts: VERSION is the package version", () => {
  assert.equal(VERSION, denoJson.version);
  assert.match(VERSION, /^\d+\.\d+\.\d+/);
});

Deno.test("mod.ts: configuration loading and its errors", () => {
  const { config, warnings } = loadConfig(["-port=6000"], {
    env: envOf({ USERNAME: "u", PASSWORD: "p", HOSTNAME: "db.example", COLLECTION_LIST: '["shop"]' }),
    readTextFile: noFiles,
  });
  assert.deepEqual(warnings, []);
  assert.equal(config.hostname, "db.example");
  assert.equal(config.port, "6000");
  assert.equal(config.mode, "nri");
  assert.deepEqual(parseCollectionList(config.collectionList), { kind: "databases", names: ["shop"] });
  assert.deepEqual(parseCollectionList("all"), { kind: "all" });

  const err = (() => {
    try {
      loadConfig(["-port=70000"], { env: envOf({ USERNAME: "u", PASSWORD: "p" }), readTextFile: noFiles });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.key, "port");
  assert.throws(() => parseCollectionList("[1]"), ConfigError);
});

Deno.test("mod.ts: logger and issue reporter log each cause once and count every occurrence", () => {
  const lines: string[] = [];
  const reporter = new IssueReporter(createLogger("info", (l) => lines.push(l)));
  const issue = { component: "qpm", cause: "x", severity: "error", message: "broken" } as const;
  reporter.report(issue);
  reporter.report(issue);
  reporter.report({ ...issue, cause: "y", severity: "debug", message: "detail" });
  assert.deepEqual(lines, ["[ERROR] qpm: broken"]);
  assert.equal(reporter.counts().get("qpm"), 3);
});

Deno.test("mod.ts: snapshots encode to QPM documents with the configured options", async () => {
  await initSqlParser();
  await initSqlParser(); // safe to call again
  const { config } = loadConfig([], { env: envOf({ USERNAME: "u", PASSWORD: "p" }), readTextFile: noFiles });
  const opts = nriOptionsFromConfig(config);
  assert.equal(opts.integrationVersion, VERSION);
  assert.equal(opts.protocol, 3);
  assert.deepEqual(
    QPM_EVENT_TYPES.map((s) => s.eventType),
    nriPublishOrder(false, false).map((s) => s.eventType),
  );

  const snap = emptySnapshot({
    host: "db.example",
    port: "5432",
    serverVersionNum: 0,
    majorVersion: 0,
    serverVersion: "",
  });
  assert.deepEqual(encodeQpmDocuments(snap, opts).documents, [], "nothing to publish");
  const slow: SlowQuery = {
    queryId: "-42",
    queryText: "SELECT $1",
    databaseName: "shop",
    schemaName: "public",
    executionCount: 3,
    avgElapsedTimeMs: 1.5,
    avgDiskReads: 0,
    avgDiskWrites: 0,
    statementType: "SELECT",
    collectionTimestamp: "2024-01-01T00:00:00Z",
  };
  snap.slowQueries.push(slow);
  const docs = encodeQpmDocuments(snap, opts).documents.map((d) => JSON.parse(d));
  const sets = docs.flatMap((d) =>
    d.data.flatMap((item: { metrics: Record<string, unknown>[] }) => item.metrics)
  );
  const [set] = sets.filter((m) => m.event_type === "PostgresSlowQueries");
  assert.equal(set.query_id, "-42");
  assert.equal(set.execution_count, 3);
  assert.equal(docs[0].integration_version, VERSION);
  assert.equal(docs[0].data[0].entity.name, "db.example:5432");
});

Deno.test("mod.ts: OTLP settings resolve from the configuration; an unusable one ends the run with 1", async () => {
  const missing = "/nonexistent/pgquerylens-ca.pem";
  const { config } = loadConfig([
    "-mode=otel",
    "-otel_protocol=grpc",
    "-otel_endpoint=https://127.0.0.1:4317",
    `-otel_certificate=${missing}`,
  ], {
    env: envOf({ USERNAME: "u", PASSWORD: "p" }),
    readTextFile: noFiles,
  });
  const otelSettings = resolveOtelSettings(config.otel, () => undefined);
  assert.equal(otelSettings.transports.metrics.protocol, "grpc");
  const lines: string[] = [];
  const logger = createLogger("info", (l) => lines.push(l));
  assert.equal(await runCollector(config, logger, new IssueReporter(logger), { otelSettings }), 1);
  assert.match(lines.join("\n"), new RegExp(`OTLP export: .*${missing}`));
});

Deno.test("mod.ts: a Collector collects one cycle from a real server", async () => {
  await using cluster = await startCluster({ name: "libentry" });
  const { config } = loadConfig([], {
    env: envOf({
      USERNAME: cluster.superuser,
      PASSWORD: cluster.password,
      HOSTNAME: cluster.host,
      PORT: String(cluster.port),
      COLLECTION_LIST: '["postgres"]',
    }),
    readTextFile: noFiles,
  });
  const lines: string[] = [];
  const collector = new Collector(config, new IssueReporter(createLogger("info", (l) => lines.push(l))));
  try {
    const snap = await collector.collect();
    assert.deepEqual(snap.issues, [], lines.join("\n"));
    assert.equal(snap.instance.majorVersion, cluster.major);
    assert.deepEqual(
      [...new Set(snap.baseSamples.map((s) => s.eventType))],
      ["PostgresqlInstanceSample", "PostgresqlDatabaseSample"],
    );
    assert.ok(snap.inventory && snap.inventory.size > 0);
  } finally {
    await collector.close();
  }
});
