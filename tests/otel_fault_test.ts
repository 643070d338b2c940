/**
 * Fault test of the OTLP export in hybrid mode: the receiver goes away for 30 s and comes back on
 * the same ports while the collector runs a cycle every second.
 *
 * What must hold: the NRI documents on stdout keep coming every second throughout; the requests
 * that fit in the bounded queue arrive once the receiver is back, and the ones pushed out of it
 * (oldest first) are counted as dropped, in the exported self-telemetry and the `-verbose` summary;
 * the queue never holds more than its bound, and the process's memory does not grow with the
 * outage.
 *
 * Every cycle leaves exactly one NRI document and, at this queue bound, exactly one OTLP metrics
 * request whose `pgquerylens.collector.cycle.duration` point carries the cycle's time; matching the
 * two by time accounts for every cycle: delivered to the first receiver, delivered to the second,
 * or dropped.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startCluster } from "./support/cluster.ts";
import { clusterEnv, collectorCommand, runCollectorProcess } from "./support/collector.ts";
import { type ReceivedRequest, startReceiver } from "./support/oteltest.ts";
import { assertValidDocuments } from "./support/schema.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** Smallest queue bound the collector accepts (`-otel_queue_bytes`). */
const MIN_QUEUE_BYTES = 65_536;
/** Queue bound in cycles: four requests fit, a fifth does not (the one in flight is not counted). */
const CYCLES_IN_QUEUE = 4.5;
/** Tables (each with an index) created so that one cycle's request has some bulk (~36 kB). */
const BULK_TABLES = 10;
const RECEIVER_UP_MS = 5_000;
const OUTAGE_MS = 30_000;
/**
 * Longest wait for delivery to resume after the receiver is back: the request in flight retries
 * with full jitter under a ceiling that grows 5 s × 1.5ⁿ up to 30 s, so its next attempt comes at
 * most 30 s after the restart; the rest is margin.
 */
const RESUME_TIMEOUT_MS = 60_000;
/** Largest gap between two NRI documents that still counts as on time (3 intervals). */
const MAX_NRI_GAP_MS = 3_000;
/**
 * Bound of the RSS growth over the outage. The queue's own bound (~160 kB here) is checked exactly
 * below, from its counters; RSS is the gross check that nothing else grows with the outage. Any
 * run's RSS rises over its first minute as V8 sizes its heap, with the receiver up or down alike:
 * from ~95 MiB five seconds in to a level of ~165 MiB (30–40 MiB of it within this window), then
 * stays there. 96 MiB lets that whole rise pass; an outage that held on to memory beyond it does
 * not.
 */
const MAX_RSS_GROWTH_KIB = 96 * 1024;
const MATCH_MS = 450;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A line of the collector's output and when the test read it. */
interface Line {
  at: number;
  text: string;
}

/**
 * Reads `stream` into `into` line by line, stamping each line with its arrival time.
 *
 * @returns the whole text read
 */
async function readLines(stream: ReadableStream<Uint8Array>, into: Line[]): Promise<string> {
  let buffer = "";
  let all = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const at = Date.now();
    all += chunk;
    buffer += chunk;
    for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
      into.push({ at, text: buffer.slice(0, end) });
      buffer = buffer.slice(end + 1);
    }
  }
  if (buffer.trim() !== "") into.push({ at: Date.now(), text: buffer });
  return all;
}

/** Resident set size of process `pid` in KiB, from /proc. */
function rssKiB(pid: number): number {
  const match = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+) kB$/m);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

/** One data point of a received metric: string attributes, time in ms, value. */
interface Point {
  attrs: Record<string, string>;
  timeMs: number;
  value: number;
}

/** The data points of metric `name` in a received metrics request. */
function points(request: ReceivedRequest, name: string): Point[] {
  const out: Point[] = [];
  for (const rm of (request.request as Json).resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        if (m.name !== name) continue;
        for (const dp of (m.gauge ?? m.sum).dataPoints ?? []) {
          out.push({
            attrs: Object.fromEntries((dp.attributes ?? []).map((a: Json) => [a.key, a.value.stringValue])),
            timeMs: Number(BigInt(dp.timeUnixNano) / 1_000_000n),
            value: Number(dp.asInt ?? dp.asDouble ?? 0),
          });
        }
      }
    }
  }
  return out;
}

/** The time of the cycle a request belongs to (its single cycle-duration point). */
function cycleTime(request: ReceivedRequest): number {
  const found = points(request, "pgquerylens.collector.cycle.duration");
  assert.equal(found.length, 1, "each metrics request holds exactly one cycle (one cycle-duration point)");
  return found[0].timeMs;
}

/** Value of `pgquerylens.exporter.requests` for the metrics signal and `outcome` in a request. */
function metricsRequests(request: ReceivedRequest, outcome: string): number {
  const found = points(request, "pgquerylens.exporter.requests").filter((p) =>
    p.attrs["pgquerylens.signal"] === "metrics" && p.attrs["pgquerylens.outcome"] === outcome
  );
  assert.equal(found.length, 1, `one exporter.requests point for metrics/${outcome}`);
  return found[0].value;
}

/** Request body size as the receiver saw it. */
function bodyBytes(request: ReceivedRequest): number {
  const length = Number(request.headers["content-length"] ?? request.headers["Content-Length"]);
  assert.ok(Number.isInteger(length) && length > 0, `content-length of ${JSON.stringify(request.headers)}`);
  return length;
}

/** The metrics part of a `-verbose` `otlp:` summary line. */
interface Summary {
  at: number;
  queued: number;
  bytes: number;
  dropped: number;
}

function summaries(stderr: Line[]): Summary[] {
  return stderr.flatMap(({ at, text }) => {
    const m = text.match(/otlp: .*metrics: \d+ sent, (\d+) queued \((\d+) bytes\), (\d+) dropped/);
    return m === null ? [] : [{ at, queued: Number(m[1]), bytes: Number(m[2]), dropped: Number(m[3]) }];
  });
}

Deno.test("an OTLP receiver outage of 30 s: NRI stays on time, the queue keeps what fits and counts drops", async () => {
  await using cluster = await startCluster({ name: "otelfault" });
  const sql = cluster.sql();
  for (let i = 0; i < BULK_TABLES; i++) {
    await sql.unsafe(`CREATE TABLE bulk_${i} (id int PRIMARY KEY, v text); CREATE INDEX ON bulk_${i} (v)`);
  }
  const tempDir = `/tmp/pgquerylens/test-otel-fault-${crypto.randomUUID()}`;
  const first = await startReceiver();
  const ports = { grpcPort: first.grpcPort, httpPort: first.httpPort };
  const baseEnv = {
    ...clusterEnv(cluster, "postgres", cluster.password),
    COLLECTION_LIST: "ALL",
    OTEL_EXPORTER_OTLP_ENDPOINT: first.httpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    TEMP_DIR: tempDir,
  };
  let child: Deno.ChildProcess | undefined;
  let exited = false;
  let rssTimer: ReturnType<typeof setInterval> | undefined;
  try {
    // Size of one cycle's request, measured with the receiver up, chooses the queue bound.
    const probe = await runCollectorProcess(["-mode=otel"], baseEnv, 60_000);
    assert.equal(probe.code, 0, probe.stderr);
    const probed = (await first.received()).metrics;
    assert.equal(probed.length, 1, "one request for the one-shot cycle");
    const cycleBytes = bodyBytes(probed[0]);
    const queueBytes = Math.max(MIN_QUEUE_BYTES, Math.ceil(CYCLES_IN_QUEUE * cycleBytes));

    child = collectorCommand(["-mode=hybrid", "-interval=1s", "-verbose"], {
      ...baseEnv,
      PGQUERYLENS_OTEL_QUEUE_BYTES: String(queueBytes),
    }).spawn();
    const pid = child.pid;
    const stdout: Line[] = [];
    const stderr: Line[] = [];
    const reading = Promise.all([readLines(child.stdout, stdout), readLines(child.stderr, stderr)]);
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    const rss: number[] = [];
    const sampleRss = () => {
      if (exited) throw new Error("the collector exited early");
      const kib = rssKiB(pid);
      rss.push(kib);
      return kib;
    };
    rssTimer = setInterval(() => {
      try {
        sampleRss();
      } catch { /* exiting: the final checks report an early exit */ }
    }, 1_000);

    // Phase 1: the receiver is up.
    await sleep(RECEIVER_UP_MS);
    assert.ok(!exited, `the collector runs\n${stderr.map((l) => l.text).join("\n")}`);
    const rssBefore = sampleRss();
    const stopping = Date.now();
    await first.stop();
    const down = Date.now();
    const beforeOutage = (await first.received()).metrics.slice(probed.length);
    assert.ok(beforeOutage.length >= 3, `requests arrived while the receiver was up: ${beforeOutage.length}`);

    // Phase 2: the receiver is down.
    await sleep(OUTAGE_MS);
    const rssAfter = sampleRss();
    const restarting = Date.now();
    await using second = await startReceiver(ports);
    assert.equal(second.httpEndpoint, first.httpEndpoint);

    // Phase 3: the receiver is back; wait for the request in flight to get through.
    let resumed: number | undefined;
    while (resumed === undefined && Date.now() - restarting < RESUME_TIMEOUT_MS) {
      if ((await second.received()).metrics.length > 0) resumed = Date.now();
      else await sleep(200);
    }
    assert.ok(resumed !== undefined, `no delivery within ${RESUME_TIMEOUT_MS} ms of the restart`);
    // Two more cycles exported after delivery resumed carry the final counters.
    const settle = Date.now();
    while (
      (await second.received()).metrics.filter((r) => cycleTime(r) > resumed! + MATCH_MS).length < 2 &&
      Date.now() - settle < 10_000
    ) await sleep(500);

    child.kill("SIGTERM");
    const { code } = await status;
    clearInterval(rssTimer);
    const [stdoutText] = await reading;
    const log = stderr.map((l) => l.text).join("\n");
    assert.equal(code, 0, `clean exit on SIGTERM\n${log}`);

    // (a) NRI output on time throughout: every cycle's document arrived about a second apart.
    const docs = stdout.filter((l) => l.text.trim() !== "");
    assertValidDocuments(stdoutText);
    for (let i = 1; i < docs.length; i++) {
      const gap = docs[i].at - docs[i - 1].at;
      assert.ok(gap <= MAX_NRI_GAP_MS, `NRI gap of ${gap} ms before document ${i}`);
    }
    const duringOutage = docs.filter((d) => d.at >= down && d.at <= restarting).length;
    const outageSeconds = (restarting - down) / 1000;
    assert.ok(
      duringOutage >= outageSeconds - 5,
      `${duringOutage} NRI documents in the ${outageSeconds} s outage`,
    );

    // Every delivered request belongs to exactly one cycle, and no cycle was delivered twice.
    const received1 = (await first.received()).metrics.slice(probed.length);
    const received2 = (await second.received()).metrics;
    assert.equal(received1.length, beforeOutage.length, "nothing reached the stopped receiver");
    const cycleOf = (request: ReceivedRequest): number => {
      const time = cycleTime(request);
      const near = docs.map((d, i) => ({ i, off: Math.abs(d.at - time) })).filter((d) => d.off <= MATCH_MS);
      assert.equal(near.length, 1, `one NRI document within ${MATCH_MS} ms of the cycle at ${time}`);
      return near[0].i;
    };
    const cycles1 = received1.map(cycleOf);
    const cycles2 = received2.map(cycleOf);
    const delivered = new Set([...cycles1, ...cycles2]);
    assert.equal(delivered.size, cycles1.length + cycles2.length, "no cycle delivered twice");
    const lost = docs.map((_, i) => i).filter((i) => !delivered.has(i));
    assert.deepEqual(cycles1, cycles1.map((_, i) => i), "the first cycles went to the first receiver");

    // (c) The counters at exit: every cycle's request was sent or dropped, none failed or was left.
    const exitLine = stderr.find((l) => l.text.includes("OTLP at exit: "));
    assert.ok(exitLine !== undefined, log);
    const atExit = JSON.parse(exitLine.text.slice(exitLine.text.indexOf("{"))).metrics;
    assert.equal(atExit.failed, 0, log);
    assert.equal(atExit.queued, 0, log);
    assert.equal(atExit.sent, received1.length + received2.length, "sent = received by the two receivers");
    assert.equal(atExit.sent + atExit.dropped, docs.length, "one request per cycle, sent or dropped");
    const dropped: number = atExit.dropped;
    assert.ok(dropped > 0, "the outage overflowed the queue");

    // The cycles that never arrived are exactly the dropped ones: a contiguous run, oldest
    // first, right after the request that was in flight when the receiver went away (it kept
    // retrying and is the first the second receiver got), all within the outage.
    assert.equal(lost.length, dropped, `cycles never delivered: ${lost.join(", ")}`);
    assert.equal(cycles1.at(-1)! + 1, cycles2[0], "the second receiver first got the request in flight");
    assert.deepEqual(lost, Array.from({ length: dropped }, (_, i) => cycles2[0] + 1 + i));
    assert.ok(docs[lost[0]].at >= stopping && docs[lost.at(-1)!].at <= resumed, "drops only in the outage");
    assert.deepEqual(cycles2, [...cycles2].sort((a, b) => a - b), "delivered in order after the restart");

    // (b) Data that waited in the queue arrived, but not all of the outage's cycles: what the
    // second receiver got from before it started is the request in flight and what fit in the
    // bound (k requests), give or take the cycle at the moment delivery resumed.
    const waited = received2.filter((r) => cycleTime(r) >= stopping && cycleTime(r) < restarting).length;
    const outageCycles = docs.filter((d) => d.at >= stopping && d.at < restarting).length;
    assert.ok(waited >= 1 && waited < outageCycles, `${waited} of ${outageCycles} outage cycles arrived`);
    const largest = Math.max(...[...received1, ...received2].map(bodyBytes));
    assert.ok(largest <= queueBytes / 4, "one request per cycle (no split at a quarter of the bound)");
    const fit = Math.floor(queueBytes / largest);
    const backlog = cycles2.filter((i) => docs[i].at < resumed!).length;
    assert.ok(
      backlog >= fit && backlog <= fit + 2,
      `${backlog} backlog requests delivered, ${fit} fit in ${queueBytes} bytes plus the one in flight`,
    );
    // Outage cycles ≈ delivered from the outage + dropped: every cycle from the stop until delivery
    // resumed is one or the other.
    const backlogCycles = docs.filter((d) => d.at >= stopping && d.at < resumed!).length;
    assert.ok(
      Math.abs(backlogCycles - (backlog + dropped)) <= 1,
      `${backlogCycles} cycles between the stop and the resumption, ${backlog} delivered + ${dropped} dropped`,
    );

    // (c) A later export reports the drops; the ones before the outage report none.
    assert.ok(received1.every((r) => metricsRequests(r, "dropped") === 0));
    const reported = received2.map((r) => metricsRequests(r, "dropped"));
    assert.equal(Math.max(...reported), dropped, "the latest export carries all drops (cumulative)");
    assert.ok(received2.some((r) => cycleTime(r) > resumed! && metricsRequests(r, "dropped") === dropped));
    assert.ok(Math.max(...received2.map((r) => metricsRequests(r, "sent"))) > beforeOutage.length);
    const retries = received2.flatMap((r) =>
      points(r, "pgquerylens.exporter.retries").filter((p) => p.attrs["pgquerylens.signal"] === "metrics")
    );
    assert.ok(retries.some((p) => p.value > 0), "the request in flight was retried during the outage");
    const lines = summaries(stderr);
    assert.equal(lines.length, docs.length, "one -verbose otlp: summary per cycle");
    assert.ok(lines.some((s) => s.dropped > 0), "the -verbose summary shows drops");
    assert.equal(lines.at(-1)!.dropped, dropped);

    // (d) Memory bounded: the queue never exceeds its bound (and did fill up to it), RSS does not
    // grow with the outage.
    for (const s of lines) assert.ok(s.bytes <= queueBytes, `queued ${s.bytes} > bound ${queueBytes}`);
    assert.ok(Math.max(...lines.map((s) => s.bytes)) > queueBytes - largest, "the queue filled to its bound");
    assert.equal(Math.max(...lines.map((s) => s.queued)), fit);
    const gauges = [...received1, ...received2].flatMap((r) =>
      points(r, "pgquerylens.exporter.queue.size").filter((p) => p.attrs["pgquerylens.signal"] === "metrics")
    );
    assert.equal(gauges.length, received1.length + received2.length);
    for (const g of gauges) assert.ok(g.value <= queueBytes, `queue.size ${g.value} > bound ${queueBytes}`);
    assert.ok(gauges.some((g) => g.value > 0), "a delivered request saw the queue non-empty");
    const growth = rssAfter - rssBefore;
    assert.ok(
      growth < MAX_RSS_GROWTH_KIB,
      `RSS grew by ${growth} KiB over the outage (${rssBefore} → ${rssAfter} KiB; samples ${rss.join(" ")})`,
    );
    console.log(
      `cycle ${cycleBytes} B, bound ${queueBytes} B (${fit} fit); ${docs.length} cycles: ` +
        `${received1.length} + ${received2.length} delivered, ${dropped} dropped; ` +
        `resumed ${resumed - restarting} ms after restart; RSS ${rssBefore} → ${rssAfter} KiB ` +
        `(max ${Math.max(...rss)})`,
    );
  } finally {
    clearInterval(rssTimer);
    if (child !== undefined && !exited) {
      child.kill("SIGKILL");
      await child.status;
    }
    await first.stop();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
});
