import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import { resolveOtlpSettings } from "./endpoint.ts";
import { createGrpcSender, GRPC_METHODS } from "./grpc.ts";
import { GRPC_LIBRARY_ENV_NAMES, OTLP_ENV_NAMES } from "./endpoint.ts";
import { RETRY_INFO_TYPE_URL } from "./grpc_status.ts";
import { testCertificate } from "./testing.ts";
import { createExportQueue } from "./queue.ts";
import { GrpcCode, type RetryClock } from "./retry.ts";

interface Call {
  readonly path: string;
  readonly headers: http2.IncomingHttpHeaders;
  readonly compressedFlag: number;
  readonly message: Uint8Array;
}

interface Answer {
  readonly code: number;
  readonly message?: string;
  readonly response?: Uint8Array;
  readonly details?: Uint8Array;
}

/** A real HTTP/2 cleartext gRPC server: decodes the 5-byte framed request, answers per `script`. */
async function grpcServer(script: Answer[], tls?: { cert: string; key: string }) {
  const calls: Call[] = [];
  const server = tls === undefined
    ? http2.createServer()
    : http2.createSecureServer({ cert: tls.cert, key: tls.key });
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      const frame = Buffer.concat(chunks);
      const flag = frame[0];
      const raw = frame.subarray(5, 5 + frame.readUInt32BE(1));
      calls.push({
        path: String(headers[":path"]),
        headers,
        compressedFlag: flag,
        message: new Uint8Array(flag === 1 ? gunzipSync(raw) : raw),
      });
      const answer = script[Math.min(calls.length - 1, script.length - 1)];
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => {
        stream.sendTrailers({
          "grpc-status": String(answer.code),
          "grpc-message": encodeURIComponent(answer.message ?? ""),
          ...(answer.details === undefined
            ? {}
            : { "grpc-status-details-bin": Buffer.from(answer.details).toString("base64") }),
        });
      });
      if (answer.code === GrpcCode.OK) {
        const body = answer.response ?? new Uint8Array();
        const out = Buffer.alloc(5 + body.length);
        out.writeUInt32BE(body.length, 1);
        out.set(body, 5);
        stream.end(out);
      } else {
        stream.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    calls,
    endpoint: tls === undefined ? `http://127.0.0.1:${port}` : `https://localhost:${port}`,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const recordingClock = (): RetryClock & { waits: number[] } => {
  const waits: number[] = [];
  return {
    waits,
    now: Date.now,
    random: () => 0.5,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  };
};

const BODY = new TextEncoder().encode("metrics request ".repeat(100));
const BACKOFF = { initialIntervalMs: 20, multiplier: 2, maxIntervalMs: 100, maxElapsedMs: 60_000 };

Deno.test("gRPC: UNAVAILABLE twice then OK makes 3 calls and succeeds", async () => {
  await using srv = await grpcServer([
    { code: GrpcCode.UNAVAILABLE, message: "warming up" },
    { code: GrpcCode.UNAVAILABLE },
    { code: GrpcCode.OK, response: new Uint8Array([0x0a, 0x00]) },
  ]);
  const settings = resolveOtlpSettings("metrics", (name) =>
    ({
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_ENDPOINT: srv.endpoint,
      OTEL_EXPORTER_OTLP_HEADERS: "api-key=k%2C1",
    })[name]);
  const seen: Uint8Array[] = [];
  const clock = recordingClock();
  const queue = createExportQueue({
    sender: await createGrpcSender(settings),
    maxBytes: 1 << 20,
    backoff: BACKOFF,
    clock,
    onResponse: (bytes) => {
      seen.push(bytes);
      return { rejected: 0 };
    },
  });
  queue.enqueue(BODY);
  await queue.flush();
  await queue.close();
  assert.equal(srv.calls.length, 3);
  for (const call of srv.calls) {
    assert.equal(call.path, GRPC_METHODS.metrics);
    assert.equal(call.headers["content-type"], "application/grpc");
    assert.equal(call.headers["te"], "trailers");
    assert.equal(call.headers["api-key"], "k,1");
    assert.equal(call.compressedFlag, 0);
    assert.deepStrictEqual(call.message, BODY);
  }
  assert.deepStrictEqual(clock.waits, [10, 20]);
  assert.deepStrictEqual(seen, [new Uint8Array([0x0a, 0x00])]);
  const c = queue.counters();
  assert.deepStrictEqual([c.sent, c.retried, c.failed, c.partialSuccesses], [1, 2, 0, 0]);
});

Deno.test("gRPC: INVALID_ARGUMENT is permanent and not retried", async () => {
  await using srv = await grpcServer([{ code: GrpcCode.INVALID_ARGUMENT, message: "bad metric" }]);
  const sender = await createGrpcSender(
    resolveOtlpSettings(
      "logs",
      (name) =>
        ({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: srv.endpoint })[name],
    ),
  );
  const reasons: string[] = [];
  const queue = createExportQueue({
    sender,
    maxBytes: 1 << 20,
    backoff: BACKOFF,
    clock: recordingClock(),
    onFailure: (r) => reasons.push(r),
  });
  queue.enqueue(BODY);
  await queue.flush();
  await queue.close();
  assert.equal(srv.calls.length, 1);
  assert.equal(srv.calls[0].path, GRPC_METHODS.logs);
  assert.deepStrictEqual(reasons, ["gRPC INVALID_ARGUMENT: bad metric"]);
  assert.deepStrictEqual([queue.counters().failed, queue.counters().retried], [1, 0]);
});

Deno.test("gRPC: gzip message compression, RESOURCE_EXHAUSTED honoured only with RetryInfo", async () => {
  // google.rpc.Status{code: 8, details: [Any{RetryInfo{retry_delay: 3s}}]}
  const url = new TextEncoder().encode(RETRY_INFO_TYPE_URL);
  const retryInfo = [0x0a, 0x02, 0x08, 0x03];
  const any = [0x0a, url.length, ...url, 0x12, retryInfo.length, ...retryInfo];
  const details = new Uint8Array([0x08, 0x08, 0x1a, any.length, ...any]);
  await using srv = await grpcServer([
    { code: GrpcCode.RESOURCE_EXHAUSTED, details },
    { code: GrpcCode.OK },
    { code: GrpcCode.RESOURCE_EXHAUSTED },
  ]);
  const sender = await createGrpcSender(resolveOtlpSettings("metrics", (name) =>
    ({
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_ENDPOINT: srv.endpoint,
      OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
    })[name]));
  assert.deepStrictEqual(await sender.send(BODY), {
    kind: "retryable",
    reason: "gRPC RESOURCE_EXHAUSTED",
    retryAfterMs: 3000,
  });
  assert.deepStrictEqual(await sender.send(BODY), { kind: "success", response: new Uint8Array() });
  assert.deepStrictEqual(await sender.send(BODY), { kind: "permanent", reason: "gRPC RESOURCE_EXHAUSTED" });
  sender.close();
  assert.equal(srv.calls.length, 3);
  for (const call of srv.calls) {
    assert.equal(call.headers["grpc-encoding"], "gzip");
    assert.equal(call.compressedFlag, 1);
    assert.deepStrictEqual(call.message, BODY);
  }
});

Deno.test("gRPC: no server is UNAVAILABLE (retryable)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const sender = await createGrpcSender(resolveOtlpSettings("logs", (name) =>
    ({
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_TIMEOUT: "2000",
    })[name]));
  const outcome = await sender.send(BODY);
  sender.close();
  assert.equal(outcome.kind, "retryable");
  assert.match(outcome.kind === "retryable" ? outcome.reason : "", /^gRPC (UNAVAILABLE|DEADLINE_EXCEEDED)/);
});

Deno.test("gRPC over TLS trusts the certificate file", async () => {
  await using tls = await testCertificate();
  await using srv = await grpcServer([{ code: GrpcCode.OK, response: new Uint8Array([1]) }], tls);
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_EXPORTER_OTLP_ENDPOINT: srv.endpoint,
    OTEL_EXPORTER_OTLP_CERTIFICATE: tls.caFile,
    OTEL_EXPORTER_OTLP_TIMEOUT: "3000",
  };
  const sender = await createGrpcSender(resolveOtlpSettings("metrics", (name) => env[name]));
  assert.deepStrictEqual(await sender.send(BODY), { kind: "success", response: new Uint8Array([1]) });
  sender.close();
  assert.deepStrictEqual(srv.calls.map((c) => c.message), [BODY]);

  const untrusting = await createGrpcSender(
    resolveOtlpSettings("metrics", (name) => ({ ...env, OTEL_EXPORTER_OTLP_CERTIFICATE: undefined })[name]),
  );
  const refused = await untrusting.send(BODY);
  untrusting.close();
  assert.equal(refused.kind, "retryable");
  assert.equal(srv.calls.length, 1);
});

Deno.test("gRPC sender loads and sends with env permission limited to the listed variables", async () => {
  const root = new URL("../../../", import.meta.url);
  const dir = await Deno.makeTempDir({ prefix: "otlp-grpc-perm-" });
  try {
    const script = `${dir}/probe.ts`;
    await Deno.writeTextFile(
      script,
      `import { createGrpcSender } from ${JSON.stringify(new URL("./grpc.ts", import.meta.url).href)};
import { resolveOtlpSettings } from ${JSON.stringify(new URL("./endpoint.ts", import.meta.url).href)};
const out = [];
for (const scheme of ["http", "https"]) {
  const settings = resolveOtlpSettings("logs", (name) => Deno.env.get(name));
  const sender = await createGrpcSender({ ...settings, endpoint: scheme + "://127.0.0.1:" + Deno.args[0] });
  out.push((await sender.send(new Uint8Array([1]))).kind);
  sender.close();
}
console.log(JSON.stringify(out));
`,
    );
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${new URL("deno.json", root).pathname}`,
        "--allow-net=127.0.0.1",
        `--allow-read=${root.pathname},${dir}`,
        `--allow-env=${[...OTLP_ENV_NAMES, ...GRPC_LIBRARY_ENV_NAMES].join(",")}`,
        script,
        String(port),
      ],
      cwd: root.pathname,
      clearEnv: true,
      env: {
        ...Object.fromEntries(["HOME", "DENO_DIR", "XDG_CACHE_HOME", "PATH"].flatMap((k) => {
          const v = Deno.env.get(k);
          return v === undefined ? [] : [[k, v]];
        })),
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_TIMEOUT: "2000",
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(stdout)), ["retryable", "retryable"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
