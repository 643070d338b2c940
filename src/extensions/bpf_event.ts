/**
 * The binary layout the eBPF tier's loader library hands over (`bpf/pgql_delay.h`): one fixed-size
 * event per traced query and the program's counters, with their decoders.
 *
 * Integers are little-endian (the host's order on the platforms the tier builds for). Event times are
 * `CLOCK_MONOTONIC` nanoseconds as BigInts; durations are nanoseconds as numbers (exact below 2^53,
 * about 104 days).
 *
 * ```ts
 * const event = decodeEvent(new DataView(buf.buffer), 0);
 * console.log(event.pid, event.onCpuNs, event.ioWaitNs, event.text);
 * ```
 *
 * @module
 */

/** `PGQL_ABI_VERSION` this decoder reads. */
export const BPF_ABI_VERSION = 1;
/** `sizeof(struct pgql_event)`. */
export const EVENT_SIZE = 192;
/** `PGQL_TEXT_LEN`: bytes of query text an event holds, NUL included. */
export const EVENT_TEXT_LEN = 128;

/** Byte offset of every `struct pgql_event` field. */
export const EVENT_OFFSETS = {
  pid: 0,
  protocol: 4,
  flags: 5,
  text_len: 6,
  start_ns: 8,
  end_ns: 16,
  oncpu_ns: 24,
  runq_ns: 32,
  io_ns: 40,
  sleep_ns: 48,
  switches: 56,
  reserved: 60,
  text: 64,
} as const;

/** `PGQL_PROTO_*`: which probes bounded the query. */
export const PROTOCOLS: Readonly<Record<number, "simple" | "extended">> = { 1: "simple", 2: "extended" };

/** `PGQL_EV_*` flag bits. */
export const EVENT_FLAGS = {
  /** Closed by a transaction abort (an error, or a ROLLBACK), not by the query's done probe. */
  ABORTED: 0x01,
  /** The event holds a prefix of the query text. */
  TEXT: 0x02,
} as const;

/**
 * The program's counters in `enum pgql_counter` order, by the names the collector uses. Probe hits
 * come first, one per probe.
 */
export const COUNTER_NAMES = [
  "hitQueryStart",
  "hitQueryDone",
  "hitExecuteStart",
  "hitExecuteDone",
  "hitTransactionAbort",
  "hitErrorRecovery",
  "closed",
  "emitted",
  "belowThreshold",
  "ringFull",
  "orphaned",
  "unsampled",
  "foreign",
  "inflightFull",
  "exited",
  "nested",
] as const;

/** One counter name. */
export type CounterName = (typeof COUNTER_NAMES)[number];

/** The program's counters, summed over the CPUs, cumulative since it was loaded. */
export type TracerCounters = Record<CounterName, number>;

/** One traced query as the program measured it. */
export interface OsDelayEvent {
  /** Backend process id. */
  pid: number;
  /** `simple` (query__start/done) or `extended` (query__execute__start/done). */
  protocol: "simple" | "extended";
  /** Closed by a transaction abort rather than by its done probe. */
  aborted: boolean;
  /** Start, CLOCK_MONOTONIC nanoseconds. */
  startNs: bigint;
  /** End, CLOCK_MONOTONIC nanoseconds. */
  endNs: bigint;
  /** Time on a CPU, ns (the latency less the three waits). */
  onCpuNs: number;
  /** Time runnable but waiting for a CPU, ns. */
  runQueueNs: number;
  /** Time switched out in D state (block I/O), ns. */
  ioWaitNs: number;
  /** Time switched out in S state (locks, latches, the client), ns. */
  sleepNs: number;
  /** Times the backend was switched out. */
  switches: number;
  /** The first bytes of the query text (up to 127), when the probe could read it. */
  text?: string;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

function u64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
}

/**
 * Decodes the event at byte `offset` of `view`.
 *
 * @throws RangeError when the view is too short or the protocol byte is unknown.
 */
export function decodeEvent(view: DataView, offset: number): OsDelayEvent {
  if (offset < 0 || offset + EVENT_SIZE > view.byteLength) {
    throw new RangeError(
      `an event needs ${EVENT_SIZE} bytes at offset ${offset}, view has ${view.byteLength}`,
    );
  }
  const o = EVENT_OFFSETS;
  const protocolByte = view.getUint8(offset + o.protocol);
  const protocol = PROTOCOLS[protocolByte];
  if (protocol === undefined) throw new RangeError(`unknown protocol ${protocolByte} in event at ${offset}`);
  const flags = view.getUint8(offset + o.flags);
  const event: OsDelayEvent = {
    pid: view.getUint32(offset + o.pid, true),
    protocol,
    aborted: (flags & EVENT_FLAGS.ABORTED) !== 0,
    startNs: view.getBigUint64(offset + o.start_ns, true),
    endNs: view.getBigUint64(offset + o.end_ns, true),
    onCpuNs: u64(view, offset + o.oncpu_ns),
    runQueueNs: u64(view, offset + o.runq_ns),
    ioWaitNs: u64(view, offset + o.io_ns),
    sleepNs: u64(view, offset + o.sleep_ns),
    switches: view.getUint32(offset + o.switches, true),
  };
  if ((flags & EVENT_FLAGS.TEXT) !== 0) {
    const len = Math.min(view.getUint16(offset + o.text_len, true), EVENT_TEXT_LEN - 1);
    const bytes = new Uint8Array(view.buffer, view.byteOffset + offset + o.text, len);
    event.text = decoder.decode(bytes);
  }
  return event;
}

/** The counters of `values` (in {@link COUNTER_NAMES} order) by name. */
export function countersFrom(values: ArrayLike<bigint | number>): TracerCounters {
  if (values.length < COUNTER_NAMES.length) {
    throw new RangeError(`${COUNTER_NAMES.length} counters expected, got ${values.length}`);
  }
  const out = {} as TracerCounters;
  COUNTER_NAMES.forEach((name, i) => out[name] = Number(values[i]));
  return out;
}

/** Probe hits of all probes together. */
export function probeHits(c: TracerCounters): number {
  return c.hitQueryStart + c.hitQueryDone + c.hitExecuteStart + c.hitExecuteDone + c.hitTransactionAbort +
    c.hitErrorRecovery;
}
