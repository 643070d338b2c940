import assert from "node:assert/strict";
import { resolveOtlpSettings } from "./endpoint.ts";
import { testCertificate } from "./testing.ts";
import { createHttpSender } from "./http.ts";
import { createExportQueue } from "./queue.ts";
import type { RetryClock } from "./retry.ts";

interface Recorded {
  readonly path: string;
  readonly headers: Headers;
  readonly raw: Uint8Array;
  readonly body: Uint8Array;
}

interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array<ArrayBuffer>;
  /** Resolves when the reply may be sent. */
  readonly hold?: Promise<void>;
}

/** A real HTTP/1.1 server answering per `script` (the last reply repeats) and recording requests. */
function scriptedServer(script: Reply[], tls?: { cert: string; key: string }) {
  const requests: Recorded[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    ...(tls && { cert: tls.cert, key: tls.key }),
  }, async (req) => {
    const raw = new Uint8Array(await req.arrayBuffer());
    const body = req.headers.get("content-encoding") === "gzip"
      ? new Uint8Array(
        await new Response(new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip")))
          .arrayBuffer(),
      )
      : raw;
    const reply = script[Math.min(requests.length, script.length - 1)];
    requests.push({ path: new URL(req.url).pathname, headers: req.headers, raw, body });
    await reply.hold;
    return new Response(reply.body ?? null, { status: reply.status, headers: reply.headers });
  });
  return {
    requests,
    base: tls === undefined
      ? `http://127.0.0.1:${server.addr.port}`
      : `https://localhost:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const fixedClock = (): RetryClock & { waits: number[] } => {
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

const BODY = new TextEncoder().encode("encoded request ".repeat(200));

Deno.test("POSTs protobuf bytes to /v1/<signal> with configured headers; success returns the body", async () => {
  await using srv = scriptedServer([{ status: 200, body: new Uint8Array([1, 2, 3]) }]);
  const settings = resolveOtlpSettings(
    "logs",
    (name) =>
      ({ OTEL_EXPORTER_OTLP_ENDPOINT: srv.base, OTEL_EXPORTER_OTLP_HEADERS: "api-key=secret%20one" })[name],
  );
  const sender = await createHttpSender(settings);
  const outcome = await sender.send(BODY);
  sender.close();
  assert.deepStrictEqual(outcome, { kind: "success", response: new Uint8Array([1, 2, 3]) });
  assert.equal(srv.requests.length, 1);
  const [r] = srv.requests;
  assert.equal(r.path, "/v1/logs");
  assert.equal(r.headers.get("content-type"), "application/x-protobuf");
  assert.equal(r.headers.get("api-key"), "secret one");
  assert.equal(r.headers.get("content-encoding"), null);
  assert.deepStrictEqual(r.raw, BODY);
});

Deno.test("gzip: the body on the wire is compressed and decompresses to the original", async () => {
  await using srv = scriptedServer([{ status: 200 }]);
  const sender = await createHttpSender(
    resolveOtlpSettings(
      "metrics",
      (name) =>
        ({
          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${srv.base}/custom`,
          OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
        })[
          name
        ],
    ),
  );
  assert.equal((await sender.send(BODY)).kind, "success");
  sender.close();
  const [r] = srv.requests;
  assert.equal(r.path, "/custom");
  assert.equal(r.headers.get("content-encoding"), "gzip");
  assert.ok(r.raw.length < BODY.length / 10, `wire size ${r.raw.length} vs ${BODY.length}`);
  assert.deepStrictEqual([...r.raw.subarray(0, 2)], [0x1f, 0x8b]);
  assert.deepStrictEqual(r.body, BODY);
});

Deno.test("queue over HTTP: 503+Retry-After and 429 are retried, partial success goes to the hook once", async () => {
  const partial = new Uint8Array([0x0a, 0x02, 0x08, 0x05]);
  await using srv = scriptedServer([
    { status: 503, headers: { "retry-after": "1" } },
    { status: 429 },
    { status: 200, body: partial },
  ]);
  const sender = await createHttpSender(
    resolveOtlpSettings("metrics", (name) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: srv.base })[name]),
  );
  const clock = fixedClock();
  const seen: Uint8Array[] = [];
  const queue = createExportQueue({
    sender,
    maxBytes: 1 << 20,
    clock,
    backoff: { initialIntervalMs: 40, multiplier: 2, maxIntervalMs: 1000, maxElapsedMs: 60_000 },
    onResponse: (bytes) => {
      seen.push(bytes);
      return { rejected: 5 };
    },
  });
  queue.enqueue(BODY);
  await queue.flush();
  await queue.close();
  assert.equal(srv.requests.length, 3);
  assert.ok(srv.requests.every((r) => r.path === "/v1/metrics"));
  assert.deepStrictEqual(clock.waits, [1000, 40]); // Retry-After: 1, then jitter 0.5 × 2 × 40
  assert.deepStrictEqual(seen, [partial]);
  assert.deepStrictEqual(queue.counters(), {
    sent: 1,
    partialSuccesses: 1,
    rejectedItems: 5,
    retried: 2,
    dropped: 0,
    failed: 0,
    queued: 0,
    inFlight: 0,
    bytesQueued: 0,
  });
});

Deno.test("queue over HTTP: 400 is permanent and not retried", async () => {
  await using srv = scriptedServer([{ status: 400, body: new TextEncoder().encode("bad") }]);
  const sender = await createHttpSender(
    resolveOtlpSettings(
      "logs",
      (name) => ({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${srv.base}/v1/logs` })[name],
    ),
  );
  const reasons: string[] = [];
  let hooked = 0;
  const queue = createExportQueue({
    sender,
    maxBytes: 1 << 20,
    clock: fixedClock(),
    onResponse: () => {
      hooked++;
      return undefined;
    },
    onFailure: (reason) => reasons.push(reason),
  });
  queue.enqueue(BODY);
  await queue.flush();
  await queue.close();
  assert.equal(srv.requests.length, 1);
  assert.deepStrictEqual(reasons, ["HTTP 400"]);
  assert.equal(hooked, 0);
  assert.deepStrictEqual([queue.counters().sent, queue.counters().failed, queue.counters().retried], [
    0,
    1,
    0,
  ]);
});

Deno.test("no answer within the timeout, or no server, is retryable", async () => {
  let release!: () => void;
  const hold = new Promise<void>((resolve) => release = resolve);
  await using srv = scriptedServer([{ status: 200, hold }]);
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: srv.base, OTEL_EXPORTER_OTLP_TIMEOUT: "150" };
  const sender = await createHttpSender(
    resolveOtlpSettings("logs", (name) => (env as Record<string, string>)[name]),
  );
  const t0 = performance.now();
  const outcome = await sender.send(BODY);
  release();
  sender.close();
  assert.deepStrictEqual(outcome, { kind: "retryable", reason: "no response within 150 ms" });
  assert.ok(performance.now() - t0 >= 140);

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const dead = await createHttpSender(
    resolveOtlpSettings(
      "logs",
      (name) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` })[name],
    ),
  );
  const refused = await dead.send(BODY);
  dead.close();
  assert.equal(refused.kind, "retryable");
  assert.match(refused.kind === "retryable" ? refused.reason : "", /^connection failed: /);
});

Deno.test("request and response size caps", async () => {
  await using srv = scriptedServer([{ status: 200, body: new Uint8Array(2048) }]);
  const settings = resolveOtlpSettings("logs", (name) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: srv.base })[name]);
  const sender = await createHttpSender(settings, { maxRequestBytes: 100, maxResponseBytes: 1024 });
  assert.deepStrictEqual(await sender.send(new Uint8Array(101)), {
    kind: "permanent",
    reason: "request of 101 bytes exceeds the 100-byte limit",
  });
  assert.equal(srv.requests.length, 0);
  // An oversized response is not read; the export still succeeded.
  assert.deepStrictEqual(await sender.send(new Uint8Array(100)), {
    kind: "success",
    response: new Uint8Array(),
  });
  sender.close();
});

Deno.test("TLS: the certificate file is the trusted CA; without it the server is not trusted", async () => {
  await using tls = await testCertificate();
  await using srv = scriptedServer([{ status: 200, body: new Uint8Array([9]) }], tls);
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: srv.base,
    OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: tls.caFile,
  };
  const trusting = await createHttpSender(resolveOtlpSettings("logs", (name) => env[name]));
  assert.deepStrictEqual(await trusting.send(BODY), { kind: "success", response: new Uint8Array([9]) });
  trusting.close();

  const plain = await createHttpSender(resolveOtlpSettings("metrics", (name) => env[name]));
  const refused = await plain.send(BODY);
  plain.close();
  assert.equal(refused.kind, "retryable");
  assert.match(refused.kind === "retryable" ? refused.reason : "", /^connection failed: .*certificate/i);
  assert.equal(srv.requests.length, 1);

  const missing = resolveOtlpSettings(
    "logs",
    (name) => ({ ...env, OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: "no/such.pem" })[name],
  );
  await assert.rejects(createHttpSender(missing), /OTLP logs: cannot read certificate file no\/such\.pem/);
});
