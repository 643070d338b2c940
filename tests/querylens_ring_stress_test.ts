/**
 * Stress tests of the pg_querylens ring reader through Deno FFI, with the harness
 * `ffi/build/ring_stress` as the producers (no PostgreSQL): producers lapping a slow reader, a fast
 * reader at a modest rate, a reader killed mid-read, a crash-restart (generation bump), a replaced
 * segment, and the open errors. Every record a reader accepts is checked field by field against the
 * harness's record function.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { openRingReader, QueryLensReaderError, type RingReader } from "../src/extensions/querylens_ffi.ts";
import type { QueryLensRecord } from "../src/extensions/querylens_record.ts";
import {
  buildFfi,
  type ReadReport,
  recordMismatch,
  removeSegment,
  ringStress,
  ringStressOk,
  startRingStress,
  stressSegmentName,
} from "./support/ring_stress.ts";
import { serverUser } from "./support/cluster.ts";
import { repoRoot } from "./support/servers.ts";

await buildFfi();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function segment(tag: string, rings: number, slots: number, extra: string[] = []) {
  const name = stressSegmentName(tag);
  await ringStressOk(["create", name, "--rings", String(rings), "--slots", String(slots), ...extra]);
  return { name, [Symbol.asyncDispose]: () => removeSegment(name) };
}

/** What a test reader accepted, checked record by record. */
class Tally {
  copied = 0;
  lost = 0;
  mismatches: string[] = [];

  add(records: QueryLensRecord[], lost: number, generation: number): void {
    this.copied += records.length;
    this.lost += lost;
    for (const rec of records) {
      const problem = rec.generation !== generation
        ? `ring ${rec.ring} #${rec.seq}: generation ${rec.generation}, expected ${generation}`
        : recordMismatch(rec);
      if (problem && this.mismatches.length < 10) this.mismatches.push(problem);
    }
  }
}

/** Drains until the rings are caught up (a drain may stop at its record limit). */
function drainAll(reader: RingReader, tally: Tally, generation: number): void {
  for (;;) {
    const r = reader.drain(Infinity);
    assert.equal(r.generationChanged, false);
    tally.add(r.records, r.lost, generation);
    if (r.records.length === 0) return;
  }
}

Deno.test("producers lapping a slow reader: no torn record accepted, copied + lost = written", async () => {
  await using seg = await segment("slow", 6, 64);
  using reader = openRingReader(seg.name, { mode: "oldest", publish: true });
  const producers = startRingStress(["produce", seg.name, "--producers", "3", "--duration-ms", "1500"]);
  const tally = new Tally();
  while (!producers.exited()) {
    const r = reader.drain(32);
    tally.add(r.records, r.lost, 1);
    await sleep(3);
  }
  const report = await producers.done;
  drainAll(reader, tally, 1);
  assert.deepEqual(tally.mismatches, []);
  assert.equal(tally.copied + tally.lost, report.written);
  assert.ok(tally.lost > tally.copied, `the slow reader should be lapped: ${JSON.stringify(tally)}`);
  assert.ok(tally.copied > 0);
  assert.ok(report.overwritten_unread > 0, "producers count what they overwrite unread");
  assert.deepEqual(reader.totals(), { copied: tally.copied, lost: tally.lost, generation: 1 });
});

Deno.test("a fast reader loses nothing at a modest rate", async () => {
  await using seg = await segment("fast", 4, 4096);
  using reader = openRingReader(seg.name, { mode: "oldest", publish: true });
  const producers = startRingStress([
    "produce",
    seg.name,
    "--producers",
    "2",
    "--rate",
    "10000",
    "--duration-ms",
    "1000",
  ]);
  const tally = new Tally();
  while (!producers.exited()) {
    const r = reader.drain();
    tally.add(r.records, r.lost, 1);
    await sleep(5);
  }
  const report = await producers.done;
  drainAll(reader, tally, 1);
  assert.deepEqual(tally.mismatches, []);
  assert.equal(tally.lost, 0);
  assert.equal(tally.copied, report.written);
  assert.ok(report.written > 15_000, `rate-limited producers wrote ${report.written}`);
  assert.equal(report.overwritten_unread, 0);
});

Deno.test("the harness's own reader verifies a lapped run end to end", async () => {
  const name = stressSegmentName("run");
  try {
    const run = await ringStress<ReadReport & { ok: boolean }>([
      "run",
      name,
      "--rings",
      "4",
      "--slots",
      "32",
      "--producers",
      "2",
      "--duration-ms",
      "500",
      "--sleep-us",
      "200",
      "--batch",
      "64",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const r = run.report!;
    assert.equal(r.ok, true);
    assert.equal(r.torn, 0);
    assert.ok(r.lost > 0);
    assert.equal(r.copied + r.lost, r.written);
  } finally {
    await removeSegment(name);
  }
});

Deno.test("a reader killed mid-read does not disturb the producers", async () => {
  await using seg = await segment("killed", 4, 256);
  const producers = startRingStress(["produce", seg.name, "--producers", "2", "--duration-ms", "2500"]);
  const module = pathToFileURL(join(repoRoot(), "src", "extensions", "querylens_ffi.ts")).href;
  const code = `import { openRingReader } from "${module}";
const reader = openRingReader("${seg.name}", { mode: "oldest", publish: true });
let copied = 0;
for (;;) {
  copied += reader.drain(4096).records.length;
  if (copied > 0) { console.log("reading"); break; }
}
for (;;) reader.drain(4096);
`;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped", stderr: "piped" })
    .spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("reading")) {
    const { value, done } = await lines.read();
    if (done) break;
    seen += value;
  }
  assert.match(seen, /reading/, "the subprocess reader started");
  await sleep(200);
  child.kill("SIGKILL");
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  await lines.cancel();
  await child.stderr.cancel();

  // The producers keep writing: a new reader attached after the kill gets fresh, intact records.
  using reader = openRingReader(seg.name, { mode: "head", publish: true });
  const tally = new Tally();
  const until = Date.now() + 400;
  while (Date.now() < until) {
    const r = reader.drain();
    tally.add(r.records, r.lost, 1);
    await sleep(2);
  }
  assert.ok(tally.copied > 0, "records keep coming after the reader was killed");
  assert.deepEqual(tally.mismatches, []);
  const report = await producers.done; // exits 0: every producer finished normally
  assert.ok(report.written > tally.copied);
});

Deno.test("a crash-restart (generation bump) is reported and no old record is accepted after it", async () => {
  await using seg = await segment("bump", 4, 4096);
  using reader = openRingReader(seg.name, { mode: "oldest", publish: true });
  const producers = startRingStress([
    "produce",
    seg.name,
    "--producers",
    "2",
    "--rate",
    "10000",
    "--duration-ms",
    "1500",
    "--bump-after-ms",
    "600",
  ]);
  let changes = 0;
  let notReady = 0;
  let lost = 0;
  const before = new Tally();
  const after = new Tally();
  const step = () => {
    const r = reader.drain();
    notReady += r.notReady ? 1 : 0;
    lost += r.lost;
    if (!r.generationChanged) {
      (changes === 0 ? before : after).add(r.records, 0, changes === 0 ? 1 : 2);
      return;
    }
    changes++;
    // In the drain that saw the change, records up to the change are of generation 1, then 2 only.
    const firstNew = r.records.findIndex((rec) => rec.generation === 2);
    const split = firstNew < 0 ? r.records.length : firstNew;
    before.add(r.records.slice(0, split), 0, 1);
    after.add(r.records.slice(split), 0, 2);
  };
  while (!producers.exited()) {
    step();
    await sleep(5);
  }
  const report = await producers.done;
  step();
  step();
  assert.equal(report.bumps, 1);
  assert.equal(report.generation, 2);
  assert.equal(changes, 1, `generation changes seen: ${changes} (not ready ${notReady} times)`);
  assert.deepEqual(before.mismatches, []);
  assert.deepEqual(after.mismatches, []);
  assert.ok(before.copied > 0 && after.copied > 0);
  // The reader (checking every record costs it ~10 µs each) keeps up with this modest rate, so
  // after the bump it got exactly what was written.
  assert.equal(lost, 0);
  assert.equal(after.copied, report.written);
  assert.equal(reader.header().generation, 2);
});

Deno.test("a replaced or removed segment is a 'replaced' error; reopening reads the new one", async () => {
  await using seg = await segment("replace", 2, 16);
  await ringStressOk(["produce", seg.name, "--records", "3"]);
  const reader = openRingReader(seg.name, { mode: "oldest", publish: false });
  try {
    assert.equal(reader.drain().records.length, 6);
    const oldPid = reader.header().postmasterPid;
    await ringStressOk(["replace", seg.name]);
    await sleep(1100); // the library checks the name about once a second
    assert.throws(() => reader.drain(), (e: unknown) => {
      assert.ok(e instanceof QueryLensReaderError);
      assert.equal(e.code, "replaced");
      assert.match(e.message, /was removed or replaced/);
      return true;
    });
    // sticky: the old mapping is never read again
    assert.throws(() => reader.drain(), QueryLensReaderError);
    using fresh = openRingReader(seg.name, { mode: "oldest", publish: false });
    assert.notEqual(fresh.header().postmasterPid, oldPid);
    assert.equal(fresh.drain().records.length, 0);
  } finally {
    reader.close();
  }

  using removed = openRingReader(seg.name, { mode: "oldest", publish: false });
  await removeSegment(seg.name);
  await sleep(1100);
  assert.throws(() => removed.drain(), /was removed or replaced/);
});

Deno.test("open errors: missing segment, bad magic, wrong layout version", async () => {
  const open = (name: string) => openRingReader(name, { mode: "oldest", publish: true });
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return e instanceof QueryLensReaderError ? e.code : `not a reader error: ${e}`;
    }
    return "no error";
  };
  assert.equal(codeOf(() => open(stressSegmentName("none"))), "no_segment");
  await using magic = await segment("magic", 2, 16, ["--magic", "0x4e454c5147500000"]);
  assert.equal(codeOf(() => open(magic.name)), "bad_magic");
  await using version = await segment("version", 2, 16, ["--layout-version", "2"]);
  assert.equal(codeOf(() => open(version.name)), "layout_mismatch");
});

Deno.test({
  name: "a reader without access to the segment gets 'permission denied'",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const user = serverUser()!.name;
    await using seg = await segment("perm", 2, 16); // owned by root, mode 0600
    const run = await ringStress<ReadReport>(["read", seg.name], user);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.report?.status, -2);
  },
});
