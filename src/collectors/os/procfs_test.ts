import assert from "node:assert/strict";
import { denoProcReader } from "./proc_reader.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  parseIo,
  parsePressure,
  parseSchedstat,
  parseStat,
  parseStatus,
  parseTaskDelayacct,
  readBootTimeMs,
  readPressure,
  readProcessSample,
  readTaskDelayacct,
  ticksToMs,
} from "./procfs.ts";

const read = denoProcReader();

/** A stat line as the kernel writes it: 52 fields, `comm` in field 2. */
function statLine(comm: string, over: Record<number, number | string> = {}): string {
  const fields: (number | string)[] = [];
  for (let n = 3; n <= 52; n++) fields.push(over[n] ?? n * 10);
  fields[0] = over[3] ?? "S";
  return `4242 (${comm}) ${fields.join(" ")}`;
}

Deno.test("parseStat: fields counted after the last parenthesis, whatever the command name holds", () => {
  for (const comm of ["postgres", "post gres", "a) b (c", "((x))", ") ", ""]) {
    const s = parseStat(statLine(comm, { 3: "D", 4: 77, 14: 123, 15: 45, 22: 9876, 42: 31 }));
    assert.deepEqual(s, {
      pid: 4242,
      comm,
      state: "D",
      ppid: 77,
      utimeTicks: 123,
      stimeTicks: 45,
      startTicks: 9876,
      blkioTicks: 31,
    }, comm);
  }
});

Deno.test("parseStat: this process's own stat line parses, with its pid and a plausible start", () => {
  const s = parseStat(Deno.readTextFileSync(`/proc/${Deno.pid}/stat`));
  assert.equal(s.pid, Deno.pid);
  assert.equal(s.ppid, Deno.ppid);
  assert.ok(s.startTicks > 0);
  // Per-thread files show the state of the thread that reads them.
  assert.equal(parseStat(Deno.readTextFileSync("/proc/thread-self/stat")).state, "R");
});

Deno.test("parseStat: what is not a stat line is refused, quoting it", () => {
  assert.throws(() => parseStat("garbage"), /not a \/proc\/<pid>\/stat line: "garbage"/);
  assert.throws(() => parseStat("1 (x) S 1 2 3"), /not a \/proc\/<pid>\/stat line/);
  assert.throws(() => parseStat(statLine("x", { 14: "abc" })), /not a \/proc\/<pid>\/stat line/);
  assert.throws(() => parseStat(statLine("x", { 42: -1 })), /not a \/proc\/<pid>\/stat line/);
});

Deno.test("parseSchedstat: on-CPU ns, run-queue ns and timeslices", () => {
  assert.deepEqual(parseSchedstat("879051815 16479899 8805\n"), {
    onCpuNs: 879051815,
    runQueueNs: 16479899,
    timeslices: 8805,
  });
  assert.throws(() => parseSchedstat("1 2\n"), /not a \/proc\/<pid>\/schedstat: "1 2\\n"/);
  assert.throws(() => parseSchedstat("1 x 3"), /schedstat/);
});

Deno.test("parseSchedstat: a thread's on-CPU time grows while it burns CPU", () => {
  // schedstat is per thread (/proc/<pid>/schedstat is the main thread's; a server process has one).
  // Burns until the thread has been on a CPU for 20 ms (on a busy host that takes longer than 20 ms).
  const read = () => parseSchedstat(Deno.readTextFileSync("/proc/thread-self/schedstat"));
  const before = read();
  const started = performance.now();
  let after = before;
  let x = 0;
  while (after.onCpuNs - before.onCpuNs < 20_000_000 && performance.now() - started < 5_000) {
    for (let i = 0; i < 100_000; i++) x += Math.sqrt(x + 1);
    after = read();
  }
  const wallNs = (performance.now() - started) * 1e6;
  assert.ok(x > 0);
  assert.ok(after.onCpuNs - before.onCpuNs >= 20_000_000, `${after.onCpuNs - before.onCpuNs} ns in 5 s`);
  assert.ok(after.onCpuNs - before.onCpuNs <= wallNs + 5_000_000, "no more CPU than wall time");
  assert.ok(after.timeslices >= before.timeslices);
});

Deno.test("parseStatus: context switches and NSpid of this process", () => {
  const s = parseStatus(Deno.readTextFileSync("/proc/self/status"));
  assert.ok(s.voluntaryCtxSwitches >= 0 && s.involuntaryCtxSwitches >= 0);
  assert.equal(s.nsPids?.at(-1), Deno.pid, "the innermost NSpid is the pid this process sees");
  assert.deepEqual(
    parseStatus(
      "Name:\tpostgres\nNSpid:\t812\t7\nvoluntary_ctxt_switches:\t15\nnonvoluntary_ctxt_switches:\t2\n",
    ),
    { voluntaryCtxSwitches: 15, involuntaryCtxSwitches: 2, nsPids: [812, 7] },
  );
  assert.deepEqual(parseStatus("voluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n"), {
    voluntaryCtxSwitches: 1,
    involuntaryCtxSwitches: 0,
  });
  assert.throws(
    () => parseStatus("Name:\tx\nvoluntary_ctxt_switches:\t1\n"),
    /not a \/proc\/<pid>\/status \(no whole-number nonvoluntary_ctxt_switches\)/,
  );
});

Deno.test("parseIo: the four byte counters; a missing one is named", () => {
  const text = "rchar: 1761665\nwchar: 450\nsyscr: 520\nsyscw: 15\nread_bytes: 8192\nwrite_bytes: 4096\n" +
    "cancelled_write_bytes: 0\n";
  assert.deepEqual(parseIo(text), { readChars: 1761665, writeChars: 450, readBytes: 8192, writeBytes: 4096 });
  assert.throws(
    () => parseIo("rchar: 1\nwchar: 2\n"),
    /not a \/proc\/<pid>\/io \(no whole-number read_bytes\)/,
  );
  const own = parseIo(Deno.readTextFileSync("/proc/self/io"));
  assert.ok(own.readChars > 0, "this process has read its own modules");
});

Deno.test("parsePressure: some and full lines; full is optional; bad values are refused", () => {
  const both = "some avg10=2.41 avg60=0.86 avg300=0.43 total=6910781\n" +
    "full avg10=0.00 avg60=0.00 avg300=0.13 total=4715191\n";
  assert.deepEqual(parsePressure(both), {
    some: { avg10: 2.41, avg60: 0.86, avg300: 0.43, totalUs: 6910781 },
    full: { avg10: 0, avg60: 0, avg300: 0.13, totalUs: 4715191 },
  });
  assert.deepEqual(parsePressure("some avg10=86.55 avg60=93.02 avg300=60.34 total=293467166\n"), {
    some: { avg10: 86.55, avg60: 93.02, avg300: 60.34, totalUs: 293467166 },
  });
  assert.throws(() => parsePressure("full avg10=0 avg60=0 avg300=0 total=0\n"), /not a pressure file/);
  assert.throws(() => parsePressure("some avg10=1 avg60=1 total=5\n"), /not a pressure file/);
  assert.throws(() => parsePressure("some avg10=1 avg60=1 avg300=1 total=-5\n"), /not a pressure file/);
});

Deno.test("readPressure: this host's three pressure files (PSI is on here)", () => {
  const p = readPressure(read);
  assert.deepEqual(Object.keys(p).sort(), ["cpu", "io", "memory"]);
  for (const f of Object.values(p)) {
    assert.ok(f.some.totalUs >= 0 && f.some.avg10 <= 100);
    assert.ok(f.full !== undefined, "kernels since 5.13 write a full line for every resource");
  }
  assert.deepEqual(readPressure(() => ({ ok: false, error: "missing" })), {});
  assert.deepEqual(readPressure(() => ({ ok: true, text: "nonsense" })), {});
});

Deno.test("task_delayacct: 0 and 1 parse; the live switch reads as it is set", () => {
  assert.equal(parseTaskDelayacct("0\n"), false);
  assert.equal(parseTaskDelayacct("1\n"), true);
  assert.throws(() => parseTaskDelayacct("2\n"), /not a kernel.task_delayacct value: "2\\n"/);
  const live = Deno.readTextFileSync("/proc/sys/kernel/task_delayacct").trim() === "1";
  assert.equal(readTaskDelayacct(read), live);
  assert.equal(readTaskDelayacct(() => ({ ok: false, error: "missing" })), undefined);
});

Deno.test("readProcessSample: this process's four files; a process that is gone gives undefined", () => {
  const s = readProcessSample(Deno.pid, read);
  assert.ok(s !== undefined);
  assert.equal(s.stat.pid, Deno.pid);
  assert.ok(s.schedstat.onCpuNs > 0);
  assert.ok(typeof s.io === "object" && s.io.readChars > 0);
  assert.equal(readProcessSample(2 ** 22 + 1, read), undefined, "beyond pid_max: no such process");
});

Deno.test("readProcessSample: an io file the OS refuses is 'denied', the rest is read", () => {
  const refusingIo = (path: string) =>
    path.endsWith("/io") ? { ok: false as const, error: "denied" as const } : read(path);
  const s = readProcessSample(Deno.pid, refusingIo);
  assert.equal(s?.io, "denied");
  assert.equal(s?.stat.pid, Deno.pid);
});

Deno.test("clock ticks: 100 per second, 10 ms each; the boot time is before this process started", () => {
  assert.equal(CLOCK_TICKS_PER_SECOND, 100);
  assert.equal(ticksToMs(7), 70);
  const boot = readBootTimeMs(read);
  assert.ok(boot !== undefined && boot < Date.now() && boot > Date.UTC(2000, 0, 1));
  assert.equal(readBootTimeMs(() => ({ ok: false, error: "denied" })), undefined);
});

Deno.test("readProcessSample: a kernel without I/O accounting has no io file: 'absent', not refused", () => {
  const noIoFile = (path: string) =>
    path.endsWith("/io") ? { ok: false as const, error: "missing" as const } : read(path);
  assert.equal(readProcessSample(Deno.pid, noIoFile)?.io, "absent");
});
