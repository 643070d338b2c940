/**
 * OTLP/gRPC sender: one unary `Export` call per request body, the body passed through as the
 * already-encoded protobuf message. Uses `@grpc/grpc-js` with identity (de)serializers; gzip is
 * gRPC message compression (`grpc-encoding: gzip`).
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import type { OtlpSettings, OtlpSignal } from "./endpoint.ts";
import { retryDelayFromStatus } from "./grpc_status.ts";
import {
  classifyGrpc,
  MAX_REQUEST_BYTES,
  MAX_RESPONSE_BYTES,
  type OtlpSender,
  type SendOutcome,
} from "./retry.ts";

/** The unary method path of each signal's export service. */
export const GRPC_METHODS: Readonly<Record<OtlpSignal, string>> = {
  metrics: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
  logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

/** gRPC-js's number for gzip in `grpc.default_compression_algorithm`. */
const GZIP_ALGORITHM = 2;

/** Options of {@link createGrpcSender}. */
export interface GrpcSenderOptions {
  /** Largest request message sent (default 64 MiB). */
  readonly maxRequestBytes?: number;
  /** Largest response message read (default 4 MiB). */
  readonly maxResponseBytes?: number;
}

/** `host:port` of a gRPC endpoint URL, with the scheme's default port when none is given. */
function target(url: URL): string {
  const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
  return `${url.hostname}:${port}`;
}

/**
 * Creates a gRPC sender for `settings` (whose protocol must be `grpc`). An `https` endpoint uses
 * TLS (trusting `settings.certificateFile` when set, else the system roots); `http` is plaintext.
 *
 * @throws Error when the certificate file cannot be read
 */
export async function createGrpcSender(
  settings: OtlpSettings,
  options: GrpcSenderOptions = {},
): Promise<OtlpSender> {
  if (settings.protocol !== "grpc") {
    throw new Error(`createGrpcSender: protocol is "${settings.protocol}", expected "grpc"`);
  }
  const url = new URL(settings.endpoint);
  let credentials: grpc.ChannelCredentials;
  if (url.protocol === "https:") {
    let roots: Buffer | null = null;
    if (settings.certificateFile !== undefined) {
      try {
        roots = Buffer.from(await Deno.readFile(settings.certificateFile));
      } catch (e) {
        throw new Error(
          `OTLP ${settings.signal}: cannot read certificate file ${settings.certificateFile}: ${e}`,
        );
      }
    }
    credentials = grpc.credentials.createSsl(roots);
  } else {
    credentials = grpc.credentials.createInsecure();
  }
  const maxRequest = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const client = new grpc.Client(target(url), credentials, {
    "grpc.max_send_message_length": maxRequest,
    "grpc.max_receive_message_length": options.maxResponseBytes ?? MAX_RESPONSE_BYTES,
    ...(settings.compression === "gzip" ? { "grpc.default_compression_algorithm": GZIP_ALGORITHM } : {}),
  });
  const method = GRPC_METHODS[settings.signal];

  function send(body: Uint8Array): Promise<SendOutcome> {
    if (body.length > maxRequest) {
      return Promise.resolve({
        kind: "permanent",
        reason: `request of ${body.length} bytes exceeds the ${maxRequest}-byte limit`,
      });
    }
    const metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(settings.headers)) metadata.add(key, value);
    return new Promise((resolve) => {
      client.makeUnaryRequest<Uint8Array, Uint8Array>(
        method,
        (message) => Buffer.from(message.buffer, message.byteOffset, message.byteLength),
        (bytes) => new Uint8Array(bytes),
        body,
        metadata,
        { deadline: Date.now() + settings.timeoutMs },
        (error, response) => {
          if (error === null) return resolve({ kind: "success", response: response ?? new Uint8Array() });
          const details = error.metadata?.get("grpc-status-details-bin")[0];
          const delay = details instanceof Uint8Array ? retryDelayFromStatus(details) : undefined;
          resolve(classifyGrpc(error.code, error.details ?? "", delay));
        },
      );
    });
  }

  return { send, close: () => client.close() };
}
