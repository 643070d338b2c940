import assert from "node:assert/strict";
import { loadConfig } from "../config/load.ts";
import { ENV_NAMES } from "../config/env.ts";
import { assertConfigError } from "../config/testing.ts";
import { MIN_QUEUE_BYTES, parseResourceAttributes, resolveOtelSettings } from "./settings.ts";
import { DEFAULT_OTEL_QUEUE_BYTES } from "../config/defaults.ts";

const CREDS = ["-username=u", "-password=p"];

/** Loads the configuration, then resolves the OTLP settings with the same environment. */
function settings(argv: string[], vars: Record<string, string> = {}, files: Record<string, string> = {}) {
  const env = (name: string) => {
    if (!ENV_NAMES.includes(name)) throw new Error(`read of ${name} is not permitted`);
    return vars[name];
  };
  const { config } = loadConfig([...CREDS, ...argv], {
    env,
    readTextFile: (path) => {
      if (!(path in files)) throw new Deno.errors.NotFound(path);
      return files[path];
    },
  });
  return resolveOtelSettings(config.otel, env);
}

Deno.test("defaults: HTTP/protobuf to localhost:4318 per signal, cumulative, 16 MiB queues", () => {
  const s = settings(["-mode=otel"]);
  assert.equal(s.transports.metrics.endpoint, "http://localhost:4318/v1/metrics");
  assert.equal(s.transports.logs.endpoint, "http://localhost:4318/v1/logs");
  assert.equal(s.transports.metrics.protocol, "http/protobuf");
  assert.equal(s.transports.metrics.compression, "none");
  assert.equal(s.temporality, "cumulative");
  assert.equal(s.queueBytes, DEFAULT_OTEL_QUEUE_BYTES);
  assert.equal(s.serviceName, "pgquerylens");
  assert.deepEqual(s.resourceAttributes, {});
});

Deno.test("flag over standard variable over [otel] table; per-signal variable over all of them", () => {
  const file = {
    "c.toml": '[otel]\nendpoint = "http://file:4318"\nprotocol = "grpc"\ncompression = "gzip"\n',
  };
  const fromFile = settings(["-config=c.toml"], {}, file);
  assert.equal(fromFile.transports.metrics.endpoint, "http://file:4318/");
  assert.equal(fromFile.transports.metrics.protocol, "grpc");
  assert.equal(fromFile.transports.logs.compression, "gzip");

  const vars = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://env:4317" };
  assert.equal(settings(["-config=c.toml"], vars, file).transports.logs.endpoint, "http://env:4317/");
  const flagged = settings(["-config=c.toml", "-otel_endpoint=http://flag:4317"], vars, file);
  assert.equal(flagged.transports.logs.endpoint, "http://flag:4317/");

  const perSignal = settings(["-otel_endpoint=http://flag:4317", "-otel_protocol=http/protobuf"], {
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://logs:9999/custom/path",
  });
  assert.equal(perSignal.transports.logs.endpoint, "http://logs:9999/custom/path");
  assert.equal(perSignal.transports.metrics.endpoint, "http://flag:4317/v1/metrics");
});

Deno.test("standard variables: headers, timeout, temporality (case-insensitive), service name, resource", () => {
  const s = settings([], {
    OTEL_EXPORTER_OTLP_HEADERS: "Api-Key=abc%20def,x-tenant=7",
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: "api-key=metrics-only",
    OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: "Delta",
    OTEL_SERVICE_NAME: "pg-eu",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=prod,team=db%20ops",
    PGQUERYLENS_OTEL_QUEUE_BYTES: "1048576",
  });
  assert.deepEqual(s.transports.logs.headers, { "api-key": "abc def", "x-tenant": "7" });
  assert.deepEqual(s.transports.metrics.headers, { "api-key": "metrics-only" });
  assert.equal(s.transports.logs.timeoutMs, 2500);
  assert.equal(s.temporality, "delta");
  assert.equal(s.serviceName, "pg-eu");
  assert.deepEqual(s.resourceAttributes, { "deployment.environment.name": "prod", team: "db ops" });
  assert.equal(s.queueBytes, 1048576);
  assert.equal(settings(["-otel_temporality=lowmemory"]).temporality, "cumulative");
  const fromAttributes = { OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attrs" };
  assert.equal(settings([], fromAttributes).serviceName, "from-attrs");
  assert.equal(settings([], { ...fromAttributes, OTEL_SERVICE_NAME: "named" }).serviceName, "named");
});

Deno.test("bad values exit as configuration errors naming the option and where it came from", () => {
  const load = (argv: string[], vars: Record<string, string> = {}) =>
    loadConfig([...CREDS, "-mode=hybrid", ...argv], { env: (n) => vars[n], readTextFile: () => "" });
  assertConfigError(
    () => load([], { OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" }),
    "otel_endpoint",
    "environment variable OTEL_EXPORTER_OTLP_ENDPOINT",
    "scheme",
  );
  assertConfigError(() => load(["-otel_protocol=http/json"]), "otel_protocol", "grpc, http/protobuf");
  assertConfigError(
    () => load(["-otel_queue_bytes=1000"]),
    "otel_queue_bytes",
    "flag -otel_queue_bytes",
    ">=",
  );
  const leak = assertConfigError(
    () => load([], { OTEL_EXPORTER_OTLP_HEADERS: "api-key=s3cr3t,broken-entry-s3cr3t" }),
    "OTEL_EXPORTER_OTLP_HEADERS",
    "entry 2",
  );
  assert.ok(!leak.message.includes("s3cr3t"), leak.message);
  // Mode nri never looks at OTLP settings.
  assert.doesNotThrow(() =>
    loadConfig([...CREDS], {
      env: (n) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: "nonsense" } as Record<string, string>)[n],
      readTextFile: () => "",
    })
  );
  // Per-signal variables are checked when the export is set up.
  assertConfigError(
    () => settings([], { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/json" }),
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "not supported",
  );
});

Deno.test("resource attributes: malformed entries are named by position", () => {
  assert.deepEqual(parseResourceAttributes("a=1,,b = x=y ", "X"), { a: "1", b: "x=y" });
  assertConfigError(() => parseResourceAttributes("a=1,=2", "OTEL_RESOURCE_ATTRIBUTES"), "entry 2");
  assertConfigError(() => parseResourceAttributes("a=%zz", "X"), "entry 1", "percent-encoding");
  assert.ok(MIN_QUEUE_BYTES > 0);
});
