import assert from "node:assert/strict";
import process from "node:process";
import {
  bootTimeMs,
  CLOCK_TICKS_PER_SECOND,
  parseProcStat,
  processStartMs,
  ProcNotPermitted,
  readProcFile,
  readProcStat,
} from "./proc_stat.ts";

Deno.test("parseProcStat: fields are counted after the last parenthesis of the command name", () => {
  const line = "4242 (post (gres) x) S 17 4242 4242 0 -1 4194304 100 0 0 0 " +
    "1234 567 0 0 20 0 1 0 998877 3133440 414 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
  assert.deepEqual(parseProcStat(line), {
    pid: 4242,
    comm: "post (gres) x",
    ppid: 17,
    cpuTicks: 1234 + 567,
    startTicks: 998877,
  });
});

Deno.test("parseProcStat: a line that is not a stat line names itself", () => {
  for (const bad of ["", "12 (x) S 1 2 3", "x (postgres) S a b c d e f g h i j k l m n o p q r s t u"]) {
    assert.throws(() => parseProcStat(bad), /not a \/proc\/<pid>\/stat line/);
  }
});

Deno.test("readProcStat: a child process, read from the real /proc, started when it was spawned", async () => {
  const spawnedAt = Date.now();
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  try {
    const stat = readProcStat(child.pid);
    assert.ok(stat, "this test runs with read access to /proc");
    assert.deepEqual([stat.pid, stat.comm, stat.ppid], [child.pid, "sleep", Deno.pid]);
    const boot = bootTimeMs();
    assert.ok(boot !== undefined && boot < spawnedAt);
    const started = processStartMs(stat, boot);
    assert.ok(Math.abs(started - spawnedAt) < 2000, `started ${started}, spawned ${spawnedAt}`);
    assert.equal(CLOCK_TICKS_PER_SECOND, 100);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});

Deno.test("readProcStat: CPU time grows as the process's own accounting says", () => {
  const before = readProcStat(Deno.pid)!.cpuTicks;
  const usage = process.cpuUsage();
  let x = 0;
  const spentMs = () => {
    const u = process.cpuUsage(usage);
    return (u.user + u.system) / 1000;
  };
  while (spentMs() < 300) x += Math.sqrt(x + 1);
  const spent = spentMs();
  const ticks = readProcStat(Deno.pid)!.cpuTicks - before;
  assert.ok(x > 0);
  const procMs = (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  assert.ok(Math.abs(procMs - spent) <= 60, `/proc says ${procMs} ms, getrusage ${spent} ms`);
});

Deno.test("readProcStat: a pid that does not exist, or a file that is not a stat line, is undefined", () => {
  assert.equal(readProcStat(2 ** 22 + 12345), undefined);
  assert.equal(readProcStat(1, () => "garbage"), undefined);
  assert.equal(readProcFile("/proc/no-such-entry"), undefined);
  assert.equal(bootTimeMs(() => "cpu 1 2 3\nintr 4\n"), undefined);
  assert.equal(bootTimeMs(() => "cpu 1\nbtime 1700000000\nprocesses 9\n"), 1_700_000_000_000);
});

Deno.test("readProcFile: a process without --allow-all may not read /proc, and says so", async () => {
  const code = `import { readProcFile } from ${
    JSON.stringify(new URL("./proc_stat.ts", import.meta.url).href)
  };
    try { readProcFile("/proc/stat"); console.log("read"); } catch (e) { console.log(e.name + ": " + e.message); }`;
  const dir = await Deno.makeTempDir({ prefix: "pgql-proc-" });
  try {
    const script = `${dir}/read_proc.ts`;
    await Deno.writeTextFile(script, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", "--quiet", "--allow-read=/proc", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(
      text,
      `ProcNotPermitted: ${new ProcNotPermitted("/proc/stat").message}`,
      new TextDecoder().decode(out.stderr),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
