import assert from "node:assert/strict";
import { ConfigError } from "../../config/types.ts";
import { OTLP_ENV_NAMES, parseOtlpHeaders, resolveOtlpSettings } from "./endpoint.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("defaults: http/protobuf to localhost:4318 with the signal path, 10 s, no compression", () => {
  const s = resolveOtlpSettings("metrics", envOf({}));
  assert.deepStrictEqual(s, {
    signal: "metrics",
    protocol: "http/protobuf",
    endpoint: "http://localhost:4318/v1/metrics",
    headers: {},
    compression: "none",
    timeoutMs: 10_000,
  });
  assert.deepStrictEqual(resolveOtlpSettings("logs", envOf({})).endpoint, "http://localhost:4318/v1/logs");
  const g = resolveOtlpSettings("logs", envOf({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }));
  assert.deepStrictEqual([g.protocol, g.endpoint], ["grpc", "http://localhost:4317"]);
});

Deno.test("generic HTTP endpoint gets /v1/<signal> appended, keeping its path prefix", () => {
  for (
    const [base, want] of [
      ["https://otlp.example:4318", "https://otlp.example:4318/v1/logs"],
      ["http://h:1/", "http://h:1/v1/logs"],
      ["http://h:1/prefix", "http://h:1/prefix/v1/logs"],
      ["http://h:1/prefix/", "http://h:1/prefix/v1/logs"],
    ]
  ) {
    assert.deepStrictEqual(
      resolveOtlpSettings("logs", envOf({ OTEL_EXPORTER_OTLP_ENDPOINT: base })).endpoint,
      want,
    );
  }
});

Deno.test("per-signal variables take precedence and the per-signal endpoint is used as is", () => {
  const env = envOf({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://generic:4318",
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://metrics:9999/custom/path",
    OTEL_EXPORTER_OTLP_HEADERS: "api-key=generic,x-a=1",
    OTEL_EXPORTER_OTLP_LOGS_HEADERS: "api-key=logs",
    OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
    OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: "none",
    OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: "700",
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "grpc",
    OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: "certs/ca.pem",
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "  ",
  });
  const m = resolveOtlpSettings("metrics", env);
  assert.deepStrictEqual(m, {
    signal: "metrics",
    protocol: "http/protobuf",
    endpoint: "http://metrics:9999/custom/path",
    headers: { "api-key": "generic", "x-a": "1" },
    compression: "gzip",
    timeoutMs: 700,
    certificateFile: "certs/ca.pem",
  });
  const l = resolveOtlpSettings("logs", env);
  // Blank per-signal endpoint falls back to the generic one; gRPC uses it without a path.
  assert.deepStrictEqual(l, {
    signal: "logs",
    protocol: "grpc",
    endpoint: "http://generic:4318/",
    headers: { "api-key": "logs" },
    compression: "none",
    timeoutMs: 2500,
  });
});

Deno.test("headers are URL-decoded and trimmed, keys lower-cased, blank entries skipped", () => {
  assert.deepStrictEqual(parseOtlpHeaders(" Api-Key = a%3Db%2Cc ,, x=%20y ,empty=", "V"), {
    "api-key": "a=b,c",
    x: "y",
    empty: "",
  });
});

Deno.test("invalid values throw a ConfigError naming the variable", () => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }, "OTEL_EXPORTER_OTLP_PROTOCOL", /not supported/],
    [
      { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "udp" },
      "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
      /unknown protocol "udp"/,
    ],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: "zstd" }, "OTEL_EXPORTER_OTLP_COMPRESSION", /unknown compression/],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: "10s" }, "OTEL_EXPORTER_OTLP_TIMEOUT", /whole number of milliseconds/],
    [{ OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: "-1" }, "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", /whole number/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT", /scheme "localhost:"/],
    [{ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "::nope" }, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", /not a URL/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: "novalue" }, "OTEL_EXPORTER_OTLP_HEADERS", /not of the form key=value/],
    [{ OTEL_EXPORTER_OTLP_METRICS_HEADERS: "=v" }, "OTEL_EXPORTER_OTLP_METRICS_HEADERS", /empty key/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: "a=%zz" }, "OTEL_EXPORTER_OTLP_HEADERS", /percent-encoding/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: "a b=1" }, "OTEL_EXPORTER_OTLP_HEADERS", /not a valid header name/],
  ];
  for (const [vars, name, pattern] of cases) {
    assert.throws(() => resolveOtlpSettings("metrics", envOf(vars)), (e: unknown) => {
      if (!(e instanceof ConfigError)) return false;
      assert.deepStrictEqual(e.key, name);
      return e.message.startsWith(`${name}: `) && pattern.test(e.message);
    });
  }
});

Deno.test("only the listed variables are read", () => {
  const read = new Set<string>();
  for (const signal of ["metrics", "logs"] as const) {
    resolveOtlpSettings(signal, (name) => {
      read.add(name);
      return undefined;
    });
  }
  assert.deepStrictEqual([...read].sort(), [...OTLP_ENV_NAMES].sort());
  assert.deepStrictEqual(OTLP_ENV_NAMES.length, 18);
});
