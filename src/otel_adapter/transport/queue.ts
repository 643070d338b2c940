/**
 * Bounded export queue: encoded request bodies wait here, bounded by their total size; when a new
 * body does not fit, the oldest waiting bodies are dropped. One sender drains the queue in order,
 * retrying each body per the OTLP rules before moving on.
 *
 * @module
 */

import {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  type OtlpSender,
  type RetryClock,
  sendWithRetry,
  SYSTEM_CLOCK,
} from "./retry.ts";

/** What the response hook reports about a successful response (e.g. a decoded partial success). */
export interface ResponseReport {
  /** Items the server rejected (`rejected_data_points` / `rejected_log_records`). */
  readonly rejected: number;
}

/** Counters of an {@link ExportQueue}. */
export interface QueueCounters {
  /** Bodies the server accepted (including partial successes). */
  readonly sent: number;
  /** Successful responses that reported rejected items. */
  readonly partialSuccesses: number;
  /** Items rejected in partial successes. */
  readonly rejectedItems: number;
  /** Retries made (attempts after the first, over all bodies). */
  readonly retried: number;
  /** Bodies dropped because the queue was full (oldest first) or a body alone exceeded it. */
  readonly dropped: number;
  /** Bodies given up on: permanent failure or retries exhausted. */
  readonly failed: number;
  /** Bodies waiting now (not counting the one being sent). */
  readonly queued: number;
  /** Bodies being sent or waiting for a retry now (0 or 1). */
  readonly inFlight: number;
  /** Total size of the bodies waiting now. */
  readonly bytesQueued: number;
}

/** Options of {@link createExportQueue}. */
export interface ExportQueueOptions {
  /** Sends one body. */
  readonly sender: OtlpSender;
  /** Bound of the total size of waiting bodies, in bytes. */
  readonly maxBytes: number;
  /** Backoff settings (default {@link DEFAULT_BACKOFF}). */
  readonly backoff?: BackoffPolicy;
  /** Time and randomness (default the system's). */
  readonly clock?: RetryClock;
  /**
   * Called with each successful response body; decodes the partial success, if any. A report
   * with `rejected > 0` is counted as a partial success. It is never retried.
   */
  readonly onResponse?: (response: Uint8Array) => ResponseReport | undefined;
  /** Called once per body given up on, with the reason. */
  readonly onFailure?: (reason: string) => void;
}

/** A bounded queue drained by one sender. */
export interface ExportQueue {
  /**
   * Queues a body, dropping the oldest waiting ones if it would not fit.
   *
   * @returns false when the body was dropped because it alone exceeds the bound, or the queue is closed
   */
  enqueue(body: Uint8Array): boolean;
  /** Resolves when every body queued so far has been sent or given up on. */
  flush(): Promise<void>;
  /** Current counters. */
  counters(): QueueCounters;
  /**
   * Stops accepting bodies and retrying: each body still waiting gets one last attempt. Then closes
   * the sender. Call {@link flush} first to deliver with retries.
   */
  close(): Promise<void>;
}

/**
 * Creates an export queue.
 *
 * @throws RangeError when `maxBytes` is not a positive integer
 */
export function createExportQueue(options: ExportQueueOptions): ExportQueue {
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) {
    throw new RangeError(`export queue maxBytes must be a positive integer, got ${options.maxBytes}`);
  }
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const waiting: Uint8Array[] = [];
  const stop = new AbortController();
  const c = {
    sent: 0,
    partialSuccesses: 0,
    rejectedItems: 0,
    retried: 0,
    dropped: 0,
    failed: 0,
    bytesQueued: 0,
  };
  let draining: Promise<void> | undefined;
  let closed = false;
  let inFlight = 0;

  async function deliver(body: Uint8Array): Promise<void> {
    let attempt = 0;
    // Retries are counted as they are made, so a body still retrying already shows in the counters.
    const { outcome } = await sendWithRetry(
      () => {
        if (attempt++ > 0) c.retried++;
        return options.sender.send(body);
      },
      backoff,
      clock,
      stop.signal,
    );
    if (outcome.kind === "success") {
      c.sent++;
      const report = options.onResponse?.(outcome.response);
      if (report !== undefined && report.rejected > 0) {
        c.partialSuccesses++;
        c.rejectedItems += report.rejected;
      }
    } else {
      c.failed++;
      options.onFailure?.(outcome.reason);
    }
  }

  async function drain(): Promise<void> {
    for (let body = waiting.shift(); body !== undefined; body = waiting.shift()) {
      c.bytesQueued -= body.length;
      inFlight = 1;
      try {
        await deliver(body);
      } catch (e) {
        c.failed++;
        options.onFailure?.(e instanceof Error ? e.message : String(e));
      } finally {
        inFlight = 0;
      }
    }
    draining = undefined;
  }

  function enqueue(body: Uint8Array): boolean {
    if (closed || body.length > options.maxBytes) {
      c.dropped++;
      return false;
    }
    while (c.bytesQueued + body.length > options.maxBytes) {
      const oldest = waiting.shift()!;
      c.bytesQueued -= oldest.length;
      c.dropped++;
    }
    waiting.push(body);
    c.bytesQueued += body.length;
    draining ??= drain();
    return true;
  }

  async function flush(): Promise<void> {
    while (draining !== undefined) await draining;
  }

  return {
    enqueue,
    flush,
    counters: () => ({ ...c, queued: waiting.length, inFlight }),
    async close() {
      closed = true;
      stop.abort();
      await flush();
      options.sender.close();
    },
  };
}
