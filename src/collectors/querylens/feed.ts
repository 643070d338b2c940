/**
 * The pg_querylens feed: reads a {@link QueryLensSource} (every few milliseconds in daemon mode, once
 * per cycle in one-shot runs) and turns each batch into what a cycle exports.
 *
 * Every record in scope goes into the per-plan aggregates; the adaptive sampler, run on each batch
 * as it is read so its rate limit sees the real arrival times, keeps the executions exported one by
 * one; executions slower than the response-time threshold are kept aside (bounded) as candidates
 * for PostgresIndividualQueries. Records of the collector's own sessions and of databases outside
 * the collection list are left out and counted. The feed never holds more than its bounds: what
 * does not fit is counted, never silently dropped.
 *
 * @module
 */

import type { SamplerCounts } from "../../core/model.ts";
import type { QueryLensRecord } from "../../extensions/querylens_record.ts";
import { addRecords, type Aggregator, createAggregator } from "./aggregate.ts";
import { durationMsOf, type SampledRecord } from "./executions.ts";
import { createSampler, endCycle, type Sampler, sampleRecords, type SamplerSettings } from "./sampler.ts";
import type { QueryLensSource } from "./source.ts";

/** Most slow executions kept per cycle as individual-query candidates. */
export const MAX_SLOW_CANDIDATES = 5_000;

/** Which records belong to the monitored scope. */
export interface FeedScope {
  /** Monitored databases: oid → name. Records of other databases are left out. */
  databases: ReadonlyMap<number, string>;
  /** Backend pids of the collector's own sessions, whose records are left out. */
  ownPids: ReadonlySet<number>;
}

/** Counters of a feed, cumulative or for one cycle. */
export interface FeedCounts {
  /** Records read from the source. */
  read: number;
  /** Records the rings overwrote before they were read. */
  lost: number;
  /** Records of the collector's own sessions. */
  own: number;
  /** Records of databases outside the collection list. */
  outOfScope: number;
  /** Slow executions beyond {@link MAX_SLOW_CANDIDATES}. */
  slowOverflow: number;
  /** Times the server reinitialized its shared memory. */
  generationChanges: number;
}

/** What one cycle takes from the feed. */
export interface FeedCycle {
  /** Executions the sampler kept, with their reasons. */
  sampled: SampledRecord[];
  /** The aggregator holding this cycle's records (call finishAggregates on it). */
  aggregator: Aggregator;
  /** Executions over the response-time threshold (individual-query candidates). */
  slow: QueryLensRecord[];
  /** Sampler decisions of the cycle. */
  cycleSampled: SamplerCounts;
  /** Counters of the cycle. */
  cycle: FeedCounts;
}

function zeroCounts(): FeedCounts {
  return { read: 0, lost: 0, own: 0, outOfScope: 0, slowOverflow: 0, generationChanges: 0 };
}

function addCounts(into: FeedCounts, from: FeedCounts): void {
  for (const k of Object.keys(into) as (keyof FeedCounts)[]) into[k] += from[k];
}

/** Reads a source and keeps one cycle's worth of sampled executions, aggregates and candidates. */
export class QueryLensFeed {
  readonly #source: QueryLensSource;
  readonly #sampler: Sampler;
  readonly #slowMs: number;
  readonly #now: () => number;
  #scope: FeedScope = { databases: new Map(), ownPids: new Set() };
  #aggregator = createAggregator();
  #sampled: SampledRecord[] = [];
  #slow: QueryLensRecord[] = [];
  #cycle = zeroCounts();
  readonly #total = zeroCounts();
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling: Promise<void> | undefined;
  #lastError: Error | undefined;

  /**
   * @param source where records come from
   * @param settings adaptive sampler settings
   * @param slowMs executions longer than this are individual-query candidates
   * @param now clock in milliseconds (tests pass their own)
   */
  constructor(
    source: QueryLensSource,
    settings: SamplerSettings,
    slowMs: number,
    now: () => number = Date.now,
  ) {
    this.#source = source;
    this.#now = now;
    this.#sampler = createSampler(settings, now());
    this.#slowMs = slowMs;
  }

  /** `ffi` or `sql`. */
  get sourceKind(): "ffi" | "sql" {
    return this.#source.kind;
  }

  /** Cumulative counters since the feed was created. */
  get total(): Readonly<FeedCounts> {
    return this.#total;
  }

  /** Cumulative sampler decisions. */
  get totalSampled(): SamplerCounts {
    return this.#sampler.total;
  }

  /** The error of the last failed background poll (cleared by the next successful one). */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Sets which records are in scope (refreshed every cycle). */
  setScope(scope: FeedScope): void {
    this.#scope = scope;
  }

  /** Reads what is new from the source and processes it; concurrent calls share one read. */
  poll(): Promise<void> {
    if (!this.#polling) {
      this.#polling = this.#pollOnce().finally(() => this.#polling = undefined);
    }
    return this.#polling;
  }

  async #pollOnce(): Promise<void> {
    const batch = await this.#source.poll();
    this.#cycle.read += batch.records.length;
    this.#cycle.lost += batch.lost;
    if (batch.generationChanged) this.#cycle.generationChanges++;
    this.ingest(batch.records);
  }

  /** Processes records read from the source (exposed for the shared-memory poller and tests). */
  ingest(records: readonly QueryLensRecord[]): void {
    const { databases, ownPids } = this.#scope;
    const kept: QueryLensRecord[] = [];
    for (const r of records) {
      if (ownPids.has(r.pid)) this.#cycle.own++;
      else if (!databases.has(r.dbid)) this.#cycle.outOfScope++;
      else kept.push(r);
    }
    if (kept.length === 0) return;
    addRecords(this.#aggregator, kept);
    const sampled = sampleRecords(this.#sampler, kept, this.#now(), (dbid) => databases.get(dbid));
    for (const s of sampled) this.#sampled.push(s);
    for (const r of kept) {
      if (r.type !== "query" || durationMsOf(r) <= this.#slowMs) continue;
      if (this.#slow.length < MAX_SLOW_CANDIDATES) this.#slow.push(r);
      else this.#cycle.slowOverflow++;
    }
  }

  /**
   * Polls every `pollMs` in the background until {@link stop}. A failed poll keeps the error in
   * {@link lastError} and polling goes on.
   */
  start(pollMs: number): void {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => {
      this.poll().then(() => this.#lastError = undefined, (e) => this.#lastError = e as Error);
    }, pollMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops background polling. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Hands over the current cycle and starts the next one empty. */
  takeCycle(): FeedCycle {
    const cycle: FeedCycle = {
      sampled: this.#sampled,
      aggregator: this.#aggregator,
      slow: this.#slow,
      cycleSampled: endCycle(this.#sampler),
      cycle: this.#cycle,
    };
    addCounts(this.#total, this.#cycle);
    this.#sampled = [];
    this.#slow = [];
    this.#aggregator = createAggregator();
    this.#cycle = zeroCounts();
    return cycle;
  }

  /** Stops polling and closes the source. */
  close(): void {
    this.stop();
    this.#source.close();
  }
}
