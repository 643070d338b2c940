import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { resolveOtlpSettings } from "./endpoint.ts";
import { GRPC_METHODS } from "./grpc.ts";
import { createOtlpSender } from "./sender.ts";

const BODY = new Uint8Array([0x0a, 0x03, 1, 2, 3]);

Deno.test("http/protobuf settings give an HTTP sender", async () => {
  const seen: string[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push(`${req.method} ${new URL(req.url).pathname} ${req.headers.get("content-type")}`);
    return new Response(new Uint8Array([4]));
  });
  const env: Record<string, string> = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.addr.port}` };
  const sender = await createOtlpSender(resolveOtlpSettings("logs", (name) => env[name]));
  assert.deepStrictEqual(await sender.send(BODY), { kind: "success", response: new Uint8Array([4]) });
  sender.close();
  assert.deepStrictEqual(seen, ["POST /v1/logs application/x-protobuf"]);
});

Deno.test("grpc settings give a gRPC sender (against a grpc-js server with raw handlers)", async () => {
  const received: Uint8Array[] = [];
  const server = new grpc.Server();
  const raw = (b: Buffer) => b;
  server.register(
    GRPC_METHODS.logs,
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      received.push(new Uint8Array(call.request));
      done(null, Buffer.from([5]));
    },
    raw,
    raw,
    "unary",
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, p) => e ? reject(e) : resolve(p),
    )
  );
  try {
    const env: Record<string, string> = {
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    };
    const sender = await createOtlpSender(resolveOtlpSettings("logs", (name) => env[name]));
    assert.deepStrictEqual(await sender.send(BODY), { kind: "success", response: new Uint8Array([5]) });
    sender.close();
    assert.deepStrictEqual(received, [BODY]);
  } finally {
    server.forceShutdown();
  }
});
