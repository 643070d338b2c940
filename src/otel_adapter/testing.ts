/**
 * Test support for the OTLP adapter: a small snapshot as the collectors produce it, export settings
 * pointing at an endpoint, and a real local HTTP server that answers like an OTLP/HTTP receiver
 * (scripted replies, partial successes, replies held back) and records what it received.
 *
 * @module
 */

import protobuf from "protobufjs";
import { defaultConfig } from "../config/defaults.ts";
import type { OtelConfig } from "../config/types.ts";
import { databaseEntity, instanceEntity, namingAttributes, tableEntity } from "../core/entities.ts";
import {
  type BaseEntity,
  emptySnapshot,
  type InstanceInfo,
  type RawMetric,
  type UnifiedMetrics,
} from "../core/model.ts";
import {
  decodeLogsRequest,
  decodeMetricsRequest,
  type LogsRequest,
  type MetricsRequest,
} from "./otlp_proto.ts";
import descriptor from "./proto/otlp.json" with { type: "json" };
import { type OtelSettings, resolveOtelSettings } from "./settings.ts";
import type { OtlpSignal } from "./transport/endpoint.ts";

/** The instance of {@link fixtureSnapshot}. */
export const FIXTURE_INSTANCE: InstanceInfo = {
  host: "db1.example.internal",
  port: "5432",
  serverVersionNum: 160004,
  majorVersion: 16,
  serverVersion: "16.4",
};

function sample(entity: BaseEntity, eventType: string, metrics: RawMetric[]) {
  return { entity, eventType, metrics: [...namingAttributes(entity), ...metrics] };
}

/**
 * A snapshot of `instance` at `at` as the collectors produce it: instance, database and table
 * samples whose counters grow by `grow` (×1, ×10, ×100 per metric), one slow query whose calls grow
 * by `grow`, and one wait event (so every snapshot has at least one log record).
 */
export function fixtureSnapshot(
  at: Date,
  grow: number,
  instance: InstanceInfo = FIXTURE_INSTANCE,
): UnifiedMetrics {
  const { host, port } = instance;
  const s = emptySnapshot(instance, at);
  s.baseSamples = [
    sample(instanceEntity(host, port), "PostgresqlInstanceSample", [
      { name: "bgwriter.buffersAllocatedPerSecond", sourceType: "rate", value: 48213 + 100 * grow },
    ]),
    sample(databaseEntity(host, port, "shop"), "PostgresqlDatabaseSample", [
      { name: "db.connections", sourceType: "gauge", value: 12 },
      { name: "db.commitsPerSecond", sourceType: "rate", value: 981234 + 10 * grow },
    ]),
    sample(tableEntity(host, port, "shop", "sales", "orders"), "PostgresqlTableSample", [
      { name: "table.liveRows", sourceType: "gauge", value: 250000 },
      { name: "table.indexBlocksReadPerSecond", sourceType: "rate", value: 3311 + grow },
    ]),
  ];
  s.slowQueries = [{
    queryId: "-6482174329745523713",
    queryText: "SELECT * FROM orders WHERE id = $1",
    databaseName: "shop",
    schemaName: "sales",
    executionCount: 1000 + grow,
    avgElapsedTimeMs: 2.5,
    avgDiskReads: 3,
    avgDiskWrites: 0,
    statementType: "SELECT",
    collectionTimestamp: at.toISOString(),
    totalExecTimeMs: 2500 + 2.5 * grow,
    rows: 1000 + grow,
  }];
  s.waitEvents = [{
    waitEventName: "Lock:transactionid",
    waitCategory: "Locks",
    totalWaitTimeMs: 1520,
    collectionTimestamp: at.toISOString(),
    queryId: "918273",
    queryText: "UPDATE orders SET status = $1 WHERE id = $2",
    databaseName: "shop",
  }];
  return s;
}

/**
 * Export settings sending both signals over OTLP/HTTP to `endpoint` (a base URL), with `otel`
 * overriding the configuration defaults; no environment variable is read.
 *
 * @throws ConfigError when `otel` holds an invalid setting
 */
export function testSettings(endpoint: string, otel: Partial<OtelConfig> = {}): OtelSettings {
  return resolveOtelSettings({ ...defaultConfig().otel, endpoint, ...otel }, () => undefined);
}

/** The protobuf bytes of an export response of `signal` with a partial success. */
export function partialSuccessBody(signal: OtlpSignal, rejected: number, message: string): Uint8Array {
  const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
  const name = signal === "metrics"
    ? "metrics.v1.ExportMetricsServiceResponse"
    : "logs.v1.ExportLogsServiceResponse";
  const type = root.lookupType(`opentelemetry.proto.collector.${name}`);
  const count = signal === "metrics" ? { rejectedDataPoints: rejected } : { rejectedLogRecords: rejected };
  return new Uint8Array(
    type.encode(type.fromObject({ partialSuccess: { ...count, errorMessage: message } })).finish(),
  );
}

/** A reply of {@link startOtlpServer}: a response, or `"hang"` (no answer until the server is released). */
export type OtlpReply = { status: number; headers?: Record<string, string>; body?: Uint8Array } | "hang";

/** One request the server received. */
export interface ReceivedBody {
  /** Signal of the request path (`/v1/metrics` or `/v1/logs`). */
  readonly signal: OtlpSignal;
  /** The request body. */
  readonly body: Uint8Array;
}

/** A running {@link startOtlpServer}; `await using` releases held requests and stops it. */
export interface OtlpTestServer extends AsyncDisposable {
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Requests received so far, in arrival order. */
  readonly received: ReceivedBody[];
  /** The metrics requests received, decoded. */
  metrics(): MetricsRequest[];
  /** The logs requests received, decoded. */
  logs(): LogsRequest[];
  /** Lets every held (`"hang"`) request be answered with 200. */
  release(): void;
}

/**
 * Starts a real HTTP server on 127.0.0.1 answering OTLP/HTTP exports with `reply(signal, n)`, `n`
 * counting the requests of that signal from 0. Other paths get 404.
 */
export function startOtlpServer(
  reply: (signal: OtlpSignal, n: number) => OtlpReply = () => ({ status: 200 }),
): OtlpTestServer {
  const received: ReceivedBody[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const signal = path === "/v1/metrics" ? "metrics" : path === "/v1/logs" ? "logs" : undefined;
    const body = new Uint8Array(await req.arrayBuffer());
    if (signal === undefined) return new Response(null, { status: 404 });
    const n = received.filter((r) => r.signal === signal).length;
    received.push({ signal, body });
    const r = reply(signal, n);
    if (r === "hang") {
      await released;
      return new Response(null, { status: 200 });
    }
    return new Response(r.body as Uint8Array<ArrayBuffer> | undefined ?? null, {
      status: r.status,
      headers: r.headers,
    });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    received,
    metrics: () => received.filter((r) => r.signal === "metrics").map((r) => decodeMetricsRequest(r.body)),
    logs: () => received.filter((r) => r.signal === "logs").map((r) => decodeLogsRequest(r.body)),
    release,
    async [Symbol.asyncDispose]() {
      release();
      await server.shutdown();
    },
  };
}

/** A base URL on 127.0.0.1 where nothing listens (a port that was free a moment ago). */
export function unreachableEndpoint(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}
