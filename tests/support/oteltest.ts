/**
 * A real OTLP receiver for tests: PyPI oteltest's gRPC and HTTP sinks (installed by
 * `scripts/setup.sh` into `.tools/otel-venv`), run by `otlp_receiver.py` beside this file on free
 * ports, or on given ones so that a test can stop a receiver and start it again where its client
 * keeps sending. Every request it receives is recorded before the sender gets its answer, so what a
 * test sent is readable as soon as its send returned.
 *
 * ```ts
 * await using receiver = await startReceiver();
 * await fetch(`${receiver.httpEndpoint}/v1/metrics`, { method: "POST", headers, body });
 * const { metrics } = await receiver.received();
 * ```
 *
 * The sinks bind all interfaces (oteltest's choice); tests send to 127.0.0.1 only. The receiver
 * always answers success; HTTP bodies sent with `Content-Encoding: gzip` are decompressed (gRPC
 * decompresses messages itself).
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
  /** The requests received so far; after {@link stop}, everything the receiver got while it ran. */
  received(): Promise<ReceivedTelemetry>;
  /** Stops the receiver; idempotent. */
  stop(): Promise<void>;
}

/** Two ports free on 127.0.0.1 at the time of the call. */
function freePorts(): ReceiverPorts {
  const a = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const b = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const ports = { grpcPort: (a.addr as Deno.NetAddr).port, httpPort: (b.addr as Deno.NetAddr).port };
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

/** A port the receiver could not bind, with its message. */
interface PortInUse {
  inUse: string;
}

async function launch(dir: string, ports: ReceiverPorts): Promise<OtlpReceiver | PortInUse> {
  const python = join(OTEL_VENV, "bin", "python");
  const { grpcPort, httpPort } = ports;
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
    if (status.code === PORT_IN_USE) return { inUse: message };
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

/** The two ports of a receiver. */
export interface ReceiverPorts {
  /** OTLP/gRPC port. */
  grpcPort: number;
  /** OTLP/HTTP port. */
  httpPort: number;
}

/** Options of {@link startReceiver}. */
export interface ReceiverOptions extends Partial<ReceiverPorts> {
  /**
   * How long to keep retrying while a given port is still taken (e.g. by the previous instance
   * shutting down), in milliseconds; 5000 by default. Only used with given ports.
   */
  portWaitMs?: number;
}

const PORT_RETRY_MS = 200;
const DEFAULT_PORT_WAIT_MS = 5_000;

/** The ports `options` asks for, checked; undefined when it asks for none. */
function givenPorts(options: ReceiverOptions): ReceiverPorts | undefined {
  const { grpcPort, httpPort } = options;
  if (grpcPort === undefined && httpPort === undefined) return undefined;
  if (grpcPort === undefined || httpPort === undefined) {
    throw new RangeError("startReceiver: give both grpcPort and httpPort, or neither");
  }
  for (const [name, port] of [["grpcPort", grpcPort], ["httpPort", httpPort]] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`startReceiver: ${name} must be an integer in 1..65535, got ${port}`);
    }
  }
  if (grpcPort === httpPort) {
    throw new RangeError(`startReceiver: grpcPort and httpPort are both ${grpcPort}`);
  }
  return { grpcPort, httpPort };
}

/**
 * Starts oteltest's gRPC and HTTP sinks and resolves once both listen. Without ports, binds two
 * free ports, retrying with new ones when a port was taken meanwhile. With `grpcPort` and
 * `httpPort` (say, those of a receiver stopped earlier, to simulate a receiver coming back), binds
 * exactly those, retrying for up to `portWaitMs` while one is still taken; a receiver started this
 * way records only what it receives itself. Throws, naming the fix, when the venv is missing, and
 * naming the ports when they stay taken.
 */
export async function startReceiver(options: ReceiverOptions = {}): Promise<OtlpReceiver> {
  const given = givenPorts(options);
  const waitMs = options.portWaitMs ?? DEFAULT_PORT_WAIT_MS;
  if (!Number.isFinite(waitMs) || waitMs < 0) {
    throw new RangeError(`startReceiver: portWaitMs must be a non-negative number, got ${waitMs}`);
  }
  try {
    await Deno.stat(join(OTEL_VENV, "bin", "python"));
  } catch {
    throw new Error(`no python venv at ${OTEL_VENV}: run scripts/setup.sh (it installs oteltest there)`);
  }
  const dir = await Deno.makeTempDir({ prefix: "pgql-otlp-" });
  const deadline = Date.now() + waitMs;
  let inUse = "";
  for (let attempt = 1;; attempt++) {
    const receiver = await launch(dir, given ?? freePorts()).catch(async (e) => {
      await Deno.remove(dir, { recursive: true });
      throw e;
    });
    if (!("inUse" in receiver)) {
      let final: Promise<ReceivedTelemetry> | undefined;
      const stop = () =>
        final ??= (async () => {
          await receiver.stop();
          try {
            return await receiver.received();
          } finally {
            await Deno.remove(dir, { recursive: true }).catch(() => {});
          }
        })();
      return {
        ...receiver,
        received: () => final ?? receiver.received(),
        stop: async () => void await stop(),
        [Symbol.asyncDispose]: async () => void await stop(),
      };
    }
    inUse = receiver.inUse;
    if (given === undefined ? attempt >= ATTEMPTS : Date.now() >= deadline) break;
    if (given !== undefined) await new Promise((resolve) => setTimeout(resolve, PORT_RETRY_MS));
  }
  await Deno.remove(dir, { recursive: true });
  throw new Error(
    given === undefined
      ? `OTLP receiver: ports were taken on ${ATTEMPTS} attempts`
      : `OTLP receiver: cannot bind gRPC port ${given.grpcPort} and HTTP port ${given.httpPort}, ` +
        `still taken after ${waitMs} ms (${inUse})`,
  );
}
