import assert from "node:assert/strict";
import process from "node:process";
import {
  cpuDeltaMs,
  parseSchedstatNs,
  parseStatTimes,
  peakRssKb,
  readCpu,
  settledCpu,
  statusFieldKb,
  totalCpuMs,
} from "./proc_usage.ts";

/** Burns about `iterations` loop turns of CPU in this process. */
function spin(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x += Math.sqrt(x + i);
  return x;
}

/** This process's user+system CPU time from getrusage, ms: a clock independent of /proc. */
function rusageMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

Deno.test("parseStatTimes counts fields after the last parenthesis of the command name", () => {
  const line = "4242 (a b) c)) S 1 2 3 4 5 6 7 8 9 10 120 30 4 5 20 0 1 0 99";
  assert.deepEqual(parseStatTimes(line), { utime: 120, stime: 30, cutime: 4, cstime: 5 });
});

Deno.test("parseStatTimes reads this process's own stat line and rejects other text", () => {
  const t = parseStatTimes(Deno.readTextFileSync("/proc/self/stat"));
  assert.ok(t.utime + t.stime >= 0);
  assert.throws(() => parseStatTimes("hello (x) S 1"), /not a \/proc\/<pid>\/stat line/);
});

Deno.test("parseSchedstatNs reads the run time and rejects other text", () => {
  assert.equal(parseSchedstatNs("924248 195043 4\n"), 924248);
  assert.throws(() => parseSchedstatNs("run 1 2"), /not a schedstat line/);
  assert.throws(() => parseSchedstatNs(""), /not a schedstat line/);
});

Deno.test("statusFieldKb reads kB fields and names a missing one", () => {
  const status = "Name:\tdeno\nVmHWM:\t   2188 kB\nVmRSS:\t    100 kB\n";
  assert.equal(statusFieldKb(status, "VmHWM"), 2188);
  assert.equal(statusFieldKb(status, "VmRSS"), 100);
  assert.throws(() => statusFieldKb(status, "VmSwap"), /no "VmSwap: N kB" line/);
});

Deno.test("cpuDeltaMs sums thread run times, counting new threads in full", () => {
  const before = { statMs: 100, threadNs: new Map([[1, 5e6], [2, 1e6]]) };
  const after = { statMs: 110, threadNs: new Map([[1, 8e6], [2, 1.5e6], [3, 2e6]]) };
  assert.equal(cpuDeltaMs(before, after), 5.5);
});

Deno.test("cpuDeltaMs falls back to the tick clock when a thread exited", () => {
  const before = { statMs: 100, threadNs: new Map([[1, 5e6], [2, 1e6]]) };
  const after = { statMs: 130, threadNs: new Map([[1, 8e6]]) };
  assert.equal(cpuDeltaMs(before, after), 30);
});

Deno.test("readCpu agrees with getrusage on the CPU this process burns", () => {
  const before = readCpu(Deno.pid);
  const rusageBefore = rusageMs();
  assert.ok(before.threadNs.has(Deno.pid), "the main thread's tid is the pid");
  spin(30_000_000);
  const after = readCpu(Deno.pid);
  const reference = rusageMs() - rusageBefore;
  const used = cpuDeltaMs(before, after);
  const ticks = after.statMs - before.statMs;
  assert.ok(reference >= 50, `the spin used ${reference} ms by getrusage`);
  assert.ok(Math.abs(used - reference) <= 10, `thread clock ${used} ms, getrusage ${reference} ms`);
  assert.ok(Math.abs(ticks - reference) <= 25, `tick clock ${ticks} ms, getrusage ${reference} ms`);
  assert.ok(totalCpuMs(Deno.pid) >= after.statMs);
});

Deno.test("readCpu and peakRssKb name a process that is not running", async () => {
  const child = new Deno.Command("true").spawn();
  await child.status;
  assert.throws(() => readCpu(child.pid), new RegExp(`process ${child.pid} is not running`));
  assert.throws(() => peakRssKb(child.pid), new RegExp(`process ${child.pid} is not running`));
});

/** Peak RSS of a Deno child that touched `mib` MiB, read while it still runs. */
async function childPeakKb(mib: number): Promise<number> {
  const code = `const b = new Uint8Array(${mib} * 1024 * 1024).fill(1);
    console.log("ready", b.length); await new Promise((r) => setTimeout(r, 30000));`;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped", stderr: "null" })
    .spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const { value } = await reader.read();
    assert.match(value ?? "", /^ready/);
    reader.releaseLock();
    return peakRssKb(child.pid);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

Deno.test("peakRssKb sees a process that touched 128 MiB more peak about that much higher", async () => {
  const small = await childPeakKb(1);
  const large = await childPeakKb(129);
  assert.ok(small > 1024, `a Deno process holds more than 1 MiB: ${small} kB`);
  assert.ok(large - small >= 100 * 1024, `VmHWM ${small} vs ${large} kB`);
});

Deno.test("settledCpu waits until a busy child has gone idle", async () => {
  const child = new Deno.Command("sh", {
    args: ["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 30"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const start = readCpu(child.pid);
    const settled = await settledCpu(child.pid, { maxWaitMs: 10_000 });
    const busy = cpuDeltaMs(start, settled);
    assert.ok(busy >= 50, `the loop used ${busy} ms before the child settled`);
    await new Promise((r) => setTimeout(r, 200));
    const later = cpuDeltaMs(settled, readCpu(child.pid));
    assert.ok(later < 5, `the child used ${later} ms after it had settled`);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});
