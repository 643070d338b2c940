/**
 * A real OTLP receiver for tests: PyPI oteltest's gRPC and HTTP sinks (installed by
 * `scripts/setup.sh` into `.tools/otel-venv`), run by `otlp_receiver.py` beside this file on free
 * ports. Every request it receives is recorded before the sender gets its answer, so what a test
 * sent is readable as soon as its send returned.
 *
 * ```ts
 * await using receiver = await startReceiver();
 * await fetch(`${receiver.httpEndpoint}/v1/metrics`, { method: "POST", headers, body });
 * const { metrics } = await receiver.received();
 * ```
 *
 * The sinks bind all interfaces (oteltest's choice); tests send to 127.0.0.1 only. The receiver
 * always answers success and ignores HTTP `Content-Encoding`.
 *
 * @module
 */

import { join } from "node:path";

/** The project's venv holding oteltest. */
export const OTEL_VENV: string = join(import.meta.dirname!, "..", "..", ".tools", "otel-venv");

const RUNNER = join(import.meta.dirname!, "otlp_receiver.py");
const PORT_IN_USE = 3;
const ATTEMPTS = 3;
const READY_TIMEOUT_MS = 20_000;

/** One request as the receiver decoded it. */
export interface ReceivedRequest {
  /** Which OTLP signal. */
  signal: "metrics" | "logs" | "traces";
  /** How it arrived. */
  transport: "grpc" | "http";
  /** HTTP headers or gRPC metadata. */
  headers: Record<string, string>;
  /** The request in protobuf's JSON mapping (lowerCamelCase, 64-bit ints as strings, enums as ints). */
  request: Record<string, unknown>;
}

/** Everything received so far, by signal, in arrival order. */
export interface ReceivedTelemetry {
  /** `ExportMetricsServiceRequest`s. */
  metrics: ReceivedRequest[];
  /** `ExportLogsServiceRequest`s. */
  logs: ReceivedRequest[];
}

/** A running receiver; `await using` stops it. */
export interface OtlpReceiver extends AsyncDisposable {
  /** OTLP/gRPC port (4317's role). */
  grpcPort: number;
  /** OTLP/HTTP port (4318's role). */
  httpPort: number;
  /** `http://127.0.0.1:<httpPort>`; POST to `/v1/metrics` and `/v1/logs`. */
  httpEndpoint: string;
  /** `127.0.0.1:<grpcPort>`. */
  grpcEndpoint: string;
  /** The requests received so far. */
  received(): Promise<ReceivedTelemetry>;
  /** Stops the receiver; idempotent. */
  stop(): Promise<void>;
}

/** Two ports free on 127.0.0.1 at the time of the call. */
function freePorts(): [number, number] {
  const a = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const b = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const ports: [number, number] = [(a.addr as Deno.NetAddr).port, (b.addr as Deno.NetAddr).port];
  a.close();
  b.close();
  return ports;
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string | undefined> {
  const lines = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return undefined;
      buffer += value;
      const end = buffer.indexOf("\n");
      if (end >= 0) return buffer.slice(0, end);
    }
  } finally {
    await lines.cancel().catch(() => {});
  }
}

/** Parses the receiver's JSON-lines record. */
export function parseReceived(text: string): ReceivedTelemetry {
  const all = text.split("\n").filter((line) => line.trim() !== "").map((line, i) => {
    try {
      return JSON.parse(line) as ReceivedRequest;
    } catch {
      throw new Error(`received.jsonl line ${i + 1} is not JSON: ${line.slice(0, 200)}`);
    }
  });
  return { metrics: all.filter((r) => r.signal === "metrics"), logs: all.filter((r) => r.signal === "logs") };
}

async function launch(dir: string): Promise<OtlpReceiver | "port-in-use"> {
  const python = join(OTEL_VENV, "bin", "python");
  const [grpcPort, httpPort] = freePorts();
  const out = join(dir, "received.jsonl");
  await Deno.writeTextFile(out, "");
  const child = new Deno.Command(python, {
    args: [RUNNER, "--grpc-port", `${grpcPort}`, "--http-port", `${httpPort}`, "--out", out],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ready = await Promise.race([
    firstLine(child.stdout),
    new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), READY_TIMEOUT_MS)),
  ]);
  clearTimeout(timer);
  if (ready === undefined || ready === "timeout") {
    if (ready === "timeout") child.kill("SIGKILL");
    const status = await child.status;
    const message = (await stderr).trim();
    if (status.code === PORT_IN_USE) return "port-in-use";
    throw new Error(
      `OTLP receiver did not start (${
        ready === "timeout" ? "timed out" : `exit ${status.code}`
      }): ${message}`,
    );
  }
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      await child.status;
      await stderr;
    })();
  return {
    grpcPort,
    httpPort,
    httpEndpoint: `http://127.0.0.1:${httpPort}`,
    grpcEndpoint: `127.0.0.1:${grpcPort}`,
    received: async () => parseReceived(await Deno.readTextFile(out)),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Starts oteltest's gRPC and HTTP sinks on two free ports and resolves once both listen. Throws,
 * naming the fix, when the venv is missing. Retries with new ports when a port was taken meanwhile.
 */
export async function startReceiver(): Promise<OtlpReceiver> {
  try {
    await Deno.stat(join(OTEL_VENV, "bin", "python"));
  } catch {
    throw new Error(`no python venv at ${OTEL_VENV}: run scripts/setup.sh (it installs oteltest there)`);
  }
  const dir = await Deno.makeTempDir({ prefix: "pgql-otlp-" });
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const receiver = await launch(dir).catch(async (e) => {
      await Deno.remove(dir, { recursive: true });
      throw e;
    });
    if (receiver === "port-in-use") continue;
    const stop = async () => {
      await receiver.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    return { ...receiver, stop, [Symbol.asyncDispose]: stop };
  }
  await Deno.remove(dir, { recursive: true });
  throw new Error(`OTLP receiver: ports were taken on ${ATTEMPTS} attempts`);
}
