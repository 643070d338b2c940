/**
 * OTLP retry rules and exponential backoff with full jitter.
 *
 * HTTP: only 429, 502, 503 and 504 are retried, honouring `Retry-After` (seconds or an HTTP date);
 * a dropped connection or a timeout is retried too. gRPC: CANCELLED, DEADLINE_EXCEEDED, ABORTED,
 * OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are retried, RESOURCE_EXHAUSTED only when the status
 * carries a `RetryInfo`, whose delay is honoured. Everything else is permanent.
 *
 * @module
 */

/** What one export attempt came to. */
export type SendOutcome =
  | { readonly kind: "success"; readonly response: Uint8Array }
  | { readonly kind: "retryable"; readonly reason: string; readonly retryAfterMs?: number }
  | { readonly kind: "permanent"; readonly reason: string };

/** Sends already-encoded OTLP request bodies over one transport. */
export interface OtlpSender {
  /** Makes one export attempt with `body` (an encoded `Export*ServiceRequest`). */
  send(body: Uint8Array): Promise<SendOutcome>;
  /** Releases connections. */
  close(): void;
}

/** Clients should not send requests larger than this (64 MiB). */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

/** Clients must not read more of a response than this (4 MiB). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Backoff settings (all in milliseconds). */
export interface BackoffPolicy {
  /** Upper bound of the first delay. */
  readonly initialIntervalMs: number;
  /** Growth of the upper bound per retry. */
  readonly multiplier: number;
  /** Cap of the upper bound of any delay. */
  readonly maxIntervalMs: number;
  /** No retry starts later than this after the first attempt began. */
  readonly maxElapsedMs: number;
}

/** Defaults after the OpenTelemetry Collector's `configretry` (5 s, ×1.5, 30 s cap, 5 min total). */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialIntervalMs: 5_000,
  multiplier: 1.5,
  maxIntervalMs: 30_000,
  maxElapsedMs: 300_000,
};

/** gRPC status codes (the numbers of `google.rpc.Code`). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);
const RETRYABLE_GRPC: ReadonlySet<number> = new Set([
  GrpcCode.CANCELLED,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.ABORTED,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.UNAVAILABLE,
  GrpcCode.DATA_LOSS,
]);

/**
 * Parses a `Retry-After` header value into milliseconds from `nowMs`.
 *
 * @param value delay-seconds or an HTTP date; undefined/null when absent
 * @param nowMs current time (epoch ms), for HTTP dates
 * @returns the delay (0 for a past date), or undefined when absent or unparseable
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * Classifies a completed HTTP response's status.
 *
 * @param status HTTP status code
 * @param retryAfter the `Retry-After` header value, if any
 * @param nowMs current time (epoch ms)
 * @param response the response body (kept on success)
 */
export function classifyHttp(
  status: number,
  retryAfter: string | null,
  nowMs: number,
  response: Uint8Array,
): SendOutcome {
  if (status >= 200 && status < 300) return { kind: "success", response };
  const reason = `HTTP ${status}`;
  if (!RETRYABLE_HTTP.has(status)) return { kind: "permanent", reason };
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(retryAfter, nowMs) : undefined;
  return retryAfterMs === undefined
    ? { kind: "retryable", reason }
    : { kind: "retryable", reason, retryAfterMs };
}

/**
 * Classifies a failed gRPC call's status.
 *
 * @param code the gRPC status code (non-zero)
 * @param message the status message
 * @param retryDelayMs the `RetryInfo.retry_delay` carried by the status, if any
 */
export function classifyGrpc(code: number, message: string, retryDelayMs?: number): SendOutcome {
  const name = Object.entries(GrpcCode).find(([, c]) => c === code)?.[0] ?? `code ${code}`;
  const reason = message === "" ? `gRPC ${name}` : `gRPC ${name}: ${message}`;
  const retryable = RETRYABLE_GRPC.has(code) ||
    (code === GrpcCode.RESOURCE_EXHAUSTED && retryDelayMs !== undefined);
  if (!retryable) return { kind: "permanent", reason };
  return retryDelayMs === undefined
    ? { kind: "retryable", reason }
    : { kind: "retryable", reason, retryAfterMs: retryDelayMs };
}

/**
 * Full-jitter delay before retry number `retry` (0 for the first retry): uniform in
 * [0, min(maxInterval, initial × multiplier^retry)).
 *
 * @param retry zero-based retry number
 * @param policy backoff settings
 * @param random uniform source in [0, 1)
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxIntervalMs, policy.initialIntervalMs * policy.multiplier ** retry);
  return Math.floor(random() * ceiling);
}

/** Time and randomness used by {@link sendWithRetry}, injectable for tests. */
export interface RetryClock {
  /** Current time in ms. */
  readonly now: () => number;
  /** Waits `ms` milliseconds (rejects or returns early when aborted). */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform source in [0, 1). */
  readonly random: () => number;
}

/** Waits `ms` milliseconds, or until `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The real clock: `Date.now`, timers and `Math.random`. */
export const SYSTEM_CLOCK: RetryClock = { now: Date.now, sleep: abortableSleep, random: Math.random };

/** Result of {@link sendWithRetry}. */
export interface RetryResult {
  /** The last attempt's outcome (`retryable` only when retries ran out or were aborted). */
  readonly outcome: SendOutcome;
  /** Number of attempts made (at least 1). */
  readonly attempts: number;
}

/**
 * Sends, retrying retryable outcomes with backoff until success, a permanent failure, or the
 * policy's elapsed-time budget would be exceeded by the next wait. A server-given delay
 * (`Retry-After`, `RetryInfo`) replaces the computed one.
 *
 * @param send makes one attempt
 * @param policy backoff settings
 * @param clock time source (default {@link SYSTEM_CLOCK})
 * @param signal stops retrying when aborted
 */
export async function sendWithRetry(
  send: () => Promise<SendOutcome>,
  policy: BackoffPolicy,
  clock: RetryClock = SYSTEM_CLOCK,
  signal?: AbortSignal,
): Promise<RetryResult> {
  const start = clock.now();
  for (let attempt = 1;; attempt++) {
    const outcome = await send();
    if (outcome.kind !== "retryable" || signal?.aborted) return { outcome, attempts: attempt };
    const delay = outcome.retryAfterMs ?? backoffDelay(attempt - 1, policy, clock.random);
    if (clock.now() + delay - start > policy.maxElapsedMs) return { outcome, attempts: attempt };
    await clock.sleep(delay, signal);
    if (signal?.aborted) return { outcome, attempts: attempt };
  }
}
