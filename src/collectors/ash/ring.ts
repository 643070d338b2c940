/**
 * The in-memory history of active-session samples: a ring bounded twice, by the number of samples
 * (the retention: `ash_retention_seconds` of samples at `ash_interval_ms`) and by the number of
 * session-samples they hold together (`ash_max_samples`). A new sample pushes out the oldest ones
 * until both bounds hold; each sample carries a sequence number, so a reader takes what is new since
 * the sequence it last saw and learns how many samples it never saw were dropped.
 *
 * @module
 */

import type { AshSample } from "./sampler.ts";

/** A sample with its place in the ring. */
export interface RingSample extends AshSample {
  /** Sequence number, from 1, increasing by one per sample pushed. */
  seq: number;
}

/** The bounds of a ring. */
export interface RingBounds {
  /** Most samples kept (at least 1). */
  maxSamples: number;
  /** Most session-samples kept over all samples (at least 1). */
  maxSessionSamples: number;
}

/** Counters of what a ring dropped to stay within its bounds. */
export interface RingEvictions {
  /** Samples dropped. */
  samples: number;
  /** Session-samples dropped (of dropped samples, and cut from a sample larger than the bound). */
  sessionSamples: number;
  /** Dropped samples whose sequence number was above the reader's mark (never taken). */
  unread: number;
}

/** The sample count a retention of `retentionSeconds` at `intervalMs` needs (at least 1). */
export function samplesForRetention(retentionSeconds: number, intervalMs: number): number {
  return Math.max(1, Math.ceil((retentionSeconds * 1000) / intervalMs));
}

/** A ring of samples; see the module documentation. */
export class SampleRing {
  readonly #bounds: RingBounds;
  #items: RingSample[] = [];
  #head = 0;
  #sessionSamples = 0;
  #nextSeq = 1;
  #readMark = 0;
  readonly #evicted: RingEvictions = { samples: 0, sessionSamples: 0, unread: 0 };

  /**
   * @param bounds most samples and session-samples kept
   * @throws RangeError when a bound is not a positive integer
   */
  constructor(bounds: RingBounds) {
    for (const [name, v] of Object.entries(bounds)) {
      if (!(Number.isSafeInteger(v) && v >= 1)) {
        throw new RangeError(`SampleRing: ${name} must be a positive integer, got ${v}`);
      }
    }
    this.#bounds = { ...bounds };
  }

  /** Samples held. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Session-samples held. */
  get sessionSamples(): number {
    return this.#sessionSamples;
  }

  /** What was dropped so far. */
  get evicted(): Readonly<RingEvictions> {
    return this.#evicted;
  }

  /** Sequence number of the newest sample (0 before the first). */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /**
   * Adds `sample` (its sessions beyond `maxSessionSamples` are cut and counted) and drops the oldest
   * samples until both bounds hold. Returns the sample as stored.
   */
  push(sample: AshSample): RingSample {
    const cap = this.#bounds.maxSessionSamples;
    let sessions = sample.sessions;
    if (sessions.length > cap) {
      this.#evicted.sessionSamples += sessions.length - cap;
      sessions = sessions.slice(0, cap);
    }
    const stored: RingSample = { ...sample, sessions, seq: this.#nextSeq++ };
    this.#items.push(stored);
    this.#sessionSamples += sessions.length;
    while (this.size > this.#bounds.maxSamples || this.#sessionSamples > cap) this.#dropOldest();
    return stored;
  }

  #dropOldest(): void {
    const old = this.#items[this.#head];
    this.#items[this.#head] = undefined as unknown as RingSample;
    this.#head++;
    this.#sessionSamples -= old.sessions.length;
    this.#evicted.samples++;
    this.#evicted.sessionSamples += old.sessions.length;
    if (old.seq > this.#readMark) this.#evicted.unread++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The samples held, oldest first. */
  samples(): RingSample[] {
    return this.#items.slice(this.#head);
  }

  /**
   * The samples pushed since the previous call (those still held), oldest first; moves the reader's
   * mark to the newest sample.
   */
  takeNew(): RingSample[] {
    const mark = this.#readMark;
    this.#readMark = this.lastSeq;
    const out: RingSample[] = [];
    for (let i = this.#items.length - 1; i >= this.#head && this.#items[i].seq > mark; i--) {
      out.push(this.#items[i]);
    }
    return out.reverse();
  }
}
