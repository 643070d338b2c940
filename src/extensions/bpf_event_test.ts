import assert from "node:assert/strict";
import {
  COUNTER_NAMES,
  countersFrom,
  decodeEvent,
  EVENT_FLAGS,
  EVENT_OFFSETS,
  EVENT_SIZE,
  EVENT_TEXT_LEN,
  probeHits,
} from "./bpf_event.ts";

/** Writes one event at `at` the way the BPF program lays it out. */
function writeEvent(
  view: DataView,
  at: number,
  e: { pid: number; protocol: number; flags: number; text?: string; times: bigint[]; switches: number },
): void {
  const o = EVENT_OFFSETS;
  view.setUint32(at + o.pid, e.pid, true);
  view.setUint8(at + o.protocol, e.protocol);
  view.setUint8(at + o.flags, e.flags);
  const [start, end, oncpu, runq, io, sleep] = e.times;
  view.setBigUint64(at + o.start_ns, start, true);
  view.setBigUint64(at + o.end_ns, end, true);
  view.setBigUint64(at + o.oncpu_ns, oncpu, true);
  view.setBigUint64(at + o.runq_ns, runq, true);
  view.setBigUint64(at + o.io_ns, io, true);
  view.setBigUint64(at + o.sleep_ns, sleep, true);
  view.setUint32(at + o.switches, e.switches, true);
  if (e.text !== undefined) {
    const bytes = new TextEncoder().encode(e.text);
    new Uint8Array(view.buffer, view.byteOffset + at + o.text, bytes.length).set(bytes);
    view.setUint16(at + o.text_len, bytes.length, true);
  }
}

Deno.test("the event layout is packed: every field follows the previous one, the text ends the event", () => {
  const o = EVENT_OFFSETS;
  assert.equal(o.text + EVENT_TEXT_LEN, EVENT_SIZE);
  assert.deepEqual(Object.values(o), [0, 4, 5, 6, 8, 16, 24, 32, 40, 48, 56, 60, 64]);
});

Deno.test("decodeEvent reads every field at its offset; times stay exact beyond 2^53", () => {
  const buf = new Uint8Array(EVENT_SIZE * 2);
  const view = new DataView(buf.buffer);
  const start = 2n ** 60n + 12_345n;
  writeEvent(view, EVENT_SIZE, {
    pid: 4242,
    protocol: 2,
    flags: EVENT_FLAGS.ABORTED | EVENT_FLAGS.TEXT,
    text: "UPDATE t SET v = 1",
    times: [start, start + 1_500_000_000n, 250_000_000n, 50_000_000n, 1_000_000_000n, 200_000_000n],
    switches: 40,
  });
  assert.deepEqual(decodeEvent(view, EVENT_SIZE), {
    pid: 4242,
    protocol: "extended",
    aborted: true,
    startNs: start,
    endNs: start + 1_500_000_000n,
    onCpuNs: 250_000_000,
    runQueueNs: 50_000_000,
    ioWaitNs: 1_000_000_000,
    sleepNs: 200_000_000,
    switches: 40,
    text: "UPDATE t SET v = 1",
  });
});

Deno.test("decodeEvent: no text without the text flag; a long text is cut at 127 bytes", () => {
  const buf = new Uint8Array(EVENT_SIZE);
  const view = new DataView(buf.buffer);
  writeEvent(view, 0, {
    pid: 1,
    protocol: 1,
    flags: 0,
    text: "SELECT 1",
    times: [1n, 2n, 1n, 0n, 0n, 0n],
    switches: 0,
  });
  const plain = decodeEvent(view, 0);
  assert.equal(plain.text, undefined);
  assert.equal(plain.aborted, false);
  assert.equal(plain.protocol, "simple");
  view.setUint8(EVENT_OFFSETS.flags, EVENT_FLAGS.TEXT);
  view.setUint16(EVENT_OFFSETS.text_len, 500, true);
  assert.equal(decodeEvent(view, 0).text?.length, EVENT_TEXT_LEN - 1);
});

Deno.test("decodeEvent refuses a short view and an unknown protocol", () => {
  const view = new DataView(new ArrayBuffer(EVENT_SIZE));
  assert.throws(() => decodeEvent(view, 0), /unknown protocol 0 in event at 0/);
  view.setUint8(EVENT_OFFSETS.protocol, 1);
  assert.throws(() => decodeEvent(view, 1), /an event needs 192 bytes at offset 1, view has 192/);
});

Deno.test("countersFrom names the counters in the program's order; probeHits sums the six probes", () => {
  const values = COUNTER_NAMES.map((_, i) => BigInt(i + 1));
  const c = countersFrom(values);
  assert.equal(c.hitQueryStart, 1);
  assert.equal(c.hitErrorRecovery, 6);
  assert.equal(c.closed, 7);
  assert.equal(c.ringFull, 10);
  assert.equal(c.nested, 16);
  assert.equal(probeHits(c), 1 + 2 + 3 + 4 + 5 + 6);
  assert.throws(() => countersFrom([1n, 2n]), /16 counters expected, got 2/);
});
