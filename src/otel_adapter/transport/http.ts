/**
 * OTLP/HTTP sender: POSTs an encoded protobuf request body with
 * `Content-Type: application/x-protobuf`, optionally gzip-compressed, within the configured time
 * limit, and classifies the answer per the OTLP retry rules.
 *
 * @module
 */

import type { OtlpSettings } from "./endpoint.ts";
import {
  classifyHttp,
  MAX_REQUEST_BYTES,
  MAX_RESPONSE_BYTES,
  type OtlpSender,
  type SendOutcome,
} from "./retry.ts";

/** Compresses `bytes` with gzip. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Reads at most `max` bytes of a response body.
 *
 * @returns the body, or undefined when it is longer than `max` (the rest is not read)
 */
export async function readCapped(response: Response, max: number): Promise<Uint8Array | undefined> {
  if (response.body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** An error's message followed by its causes' messages. */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e !== undefined && e !== null && parts.length < 4; e = (e as Error).cause) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(": ");
}

/** Options of {@link createHttpSender}. */
export interface HttpSenderOptions {
  /** Current time in ms, for `Retry-After` dates (default `Date.now`). */
  readonly now?: () => number;
  /** Largest request body sent, after compression (default 64 MiB). */
  readonly maxRequestBytes?: number;
  /** Largest response body read (default 4 MiB). */
  readonly maxResponseBytes?: number;
}

/**
 * Creates an HTTP sender for `settings` (whose protocol must be `http/protobuf`). When
 * `settings.certificateFile` is set, only the CA certificates in that PEM file are trusted.
 *
 * @throws Error when the certificate file cannot be read
 */
export async function createHttpSender(
  settings: OtlpSettings,
  options: HttpSenderOptions = {},
): Promise<OtlpSender> {
  if (settings.protocol !== "http/protobuf") {
    throw new Error(`createHttpSender: protocol is "${settings.protocol}", expected "http/protobuf"`);
  }
  const now = options.now ?? Date.now;
  const maxRequest = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const maxResponse = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  let client: Deno.HttpClient | undefined;
  if (settings.certificateFile !== undefined) {
    let pem: string;
    try {
      pem = await Deno.readTextFile(settings.certificateFile);
    } catch (e) {
      throw new Error(
        `OTLP ${settings.signal}: cannot read certificate file ${settings.certificateFile}: ${e}`,
      );
    }
    client = Deno.createHttpClient({ caCerts: [pem] });
  }
  const baseHeaders: Record<string, string> = {
    ...settings.headers,
    "content-type": "application/x-protobuf",
  };
  if (settings.compression === "gzip") baseHeaders["content-encoding"] = "gzip";

  async function send(body: Uint8Array): Promise<SendOutcome> {
    const payload = settings.compression === "gzip" ? await gzip(body) : body;
    if (payload.length > maxRequest) {
      return {
        kind: "permanent",
        reason: `request of ${payload.length} bytes exceeds the ${maxRequest}-byte limit`,
      };
    }
    const signal = AbortSignal.timeout(settings.timeoutMs);
    try {
      const response = await fetch(settings.endpoint, {
        method: "POST",
        headers: baseHeaders,
        body: payload as Uint8Array<ArrayBuffer>,
        signal,
        ...(client === undefined ? {} : { client }),
      });
      const bytes = await readCapped(response, maxResponse);
      return classifyHttp(
        response.status,
        response.headers.get("retry-after"),
        now(),
        bytes ?? new Uint8Array(),
      );
    } catch (e) {
      if (signal.aborted) return { kind: "retryable", reason: `no response within ${settings.timeoutMs} ms` };
      return {
        kind: "retryable",
        reason: `connection failed: ${describe(e)}`,
      };
    }
  }

  return { send, close: () => client?.close() };
}
