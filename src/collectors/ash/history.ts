/**
 * The active-session sampler's life: samples taken on a timer (daemon mode) or in a short burst
 * (one-shot runs), kept in a {@link SampleRing}, and handed to each cycle as the window of samples
 * taken since the previous one.
 *
 * Sampling does not depend on the cycle: the timer keeps running while a cycle collects or its
 * output waits on an exporter. One sample is in flight at a time; a tick that comes while the
 * previous sample still runs is skipped and counted. A failed sample is counted and its error kept
 * for the cycle to report; sampling goes on.
 *
 * @module
 */

import { type RingBounds, type RingSample, SampleRing } from "./ring.ts";
import type { AshSample } from "./sampler.ts";

/** Counters of the sampler. */
export interface AshCounters {
  /** Samples taken and kept. */
  taken: number;
  /** Samples whose statement (or measurement) failed. */
  failed: number;
  /** Ticks skipped because the previous sample was still running. */
  skipped: number;
}

/** What one cycle takes from the history. */
export interface AshWindow {
  /** The samples taken since the previous window (those still in the ring), oldest first. */
  samples: RingSample[];
  /** Counters of the window. */
  counts: AshCounters;
  /** The last error of the window's failed samples. */
  lastError?: Error;
}

/** How an {@link AshHistory} samples and keeps. */
export interface AshHistoryOptions {
  /** Takes one sample. */
  take: () => Promise<AshSample>;
  /** Milliseconds between samples. */
  intervalMs: number;
  /** Bounds of the ring. */
  ring: RingBounds;
}

const zero = (): AshCounters => ({ taken: 0, failed: 0, skipped: 0 });

function add(into: AshCounters, from: AshCounters): void {
  into.taken += from.taken;
  into.failed += from.failed;
  into.skipped += from.skipped;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Samples, keeps and hands out windows; see the module documentation. */
export class AshHistory {
  readonly #take: () => Promise<AshSample>;
  readonly #intervalMs: number;
  readonly #ring: SampleRing;
  #window = zero();
  readonly #total = zero();
  #lastError: Error | undefined;
  #inFlight: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** @param options how samples are taken and kept */
  constructor(options: AshHistoryOptions) {
    this.#take = options.take;
    this.#intervalMs = options.intervalMs;
    this.#ring = new SampleRing(options.ring);
  }

  /** The ring of samples (the last `ash_retention_seconds`). */
  get ring(): SampleRing {
    return this.#ring;
  }

  /** Counters since the history was created, including the current window. */
  get total(): AshCounters {
    const t = { ...this.#total };
    add(t, this.#window);
    return t;
  }

  /** Whether the timer runs. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Takes one sample now, unless one is in flight (then the tick is skipped and resolves when that
   * one is done). Never rejects: a failure is counted and kept.
   */
  tick(): Promise<void> {
    if (this.#inFlight !== undefined) {
      this.#window.skipped++;
      return this.#inFlight;
    }
    this.#inFlight = this.#take().then(
      (sample) => {
        this.#ring.push(sample);
        this.#window.taken++;
      },
      (e) => {
        this.#window.failed++;
        this.#lastError = e instanceof Error ? e : new Error(String(e));
      },
    ).finally(() => this.#inFlight = undefined);
    return this.#inFlight;
  }

  /** Samples every `intervalMs` in the background until {@link stop}. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.tick(), this.#intervalMs);
    Deno.unrefTimer(this.#timer);
  }

  /** Stops the timer (a sample in flight completes). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes `count` samples `intervalMs` apart (start to start), for a one-shot run. */
  async burst(count: number): Promise<void> {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const due = start + i * this.#intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      await this.tick();
    }
  }

  /** Hands over the samples and counters since the previous call and starts a new window. */
  takeWindow(): AshWindow {
    const window: AshWindow = { samples: this.#ring.takeNew(), counts: this.#window };
    if (this.#lastError !== undefined) window.lastError = this.#lastError;
    add(this.#total, this.#window);
    this.#window = zero();
    this.#lastError = undefined;
    return window;
  }

  /** Stops the timer and waits for a sample in flight. */
  async close(): Promise<void> {
    this.stop();
    await this.#inFlight;
  }
}
