import assert from "node:assert/strict";
import { parseTimeReport, TIME_BINARY, TIME_FORMAT } from "./time_report.ts";

/** Runs `cmd` under GNU time and returns what time wrote to its output file. */
async function timeOf(cmd: string[]): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "bench-time-" });
  try {
    await new Deno.Command(TIME_BINARY, {
      args: ["-o", file, "-f", TIME_FORMAT, ...cmd],
      stdout: "null",
      stderr: "null",
    }).output();
    return await Deno.readTextFile(file);
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("parseTimeReport reads the peak RSS and CPU of a process that allocates and spins", async () => {
  const script = "const b = new Uint8Array(96 * 1024 * 1024); b.fill(1); " +
    "const end = Date.now() + 300; while (Date.now() < end) {}";
  const usage = parseTimeReport(await timeOf([Deno.execPath(), "eval", script]));
  assert.ok(usage.maxRssKb >= 96 * 1024, `peak RSS ${usage.maxRssKb} KiB below the 96 MiB touched`);
  assert.ok(usage.cpuMs >= 250, `CPU ${usage.cpuMs} ms below the 300 ms spin`);
  assert.equal(usage.cpuMs, usage.userMs + usage.sysMs);
  assert.ok(usage.wallMs >= 300);
  assert.equal(usage.exitStatus, 0);
  assert.equal(usage.signal, undefined);
});

Deno.test("parseTimeReport keeps a non-zero exit status", async () => {
  const usage = parseTimeReport(await timeOf(["sh", "-c", "exit 3"]));
  assert.equal(usage.exitStatus, 3);
  assert.equal(usage.signal, undefined);
});

Deno.test("parseTimeReport reports the terminating signal", async () => {
  const usage = parseTimeReport(await timeOf(["sh", "-c", "kill -TERM $$"]));
  assert.equal(usage.signal, 15);
});

Deno.test("parseTimeReport names what is wrong with a bad report", () => {
  assert.throws(() => parseTimeReport("nothing here\n"), /no line with max_rss_kb=/);
  assert.throws(
    () => parseTimeReport("wall_s=1 user_s=x sys_s=0 max_rss_kb=5 exit=0"),
    /user_s is not a number/,
  );
  assert.throws(() => parseTimeReport("wall_s=1 sys_s=0 max_rss_kb=5 exit=0"), /lacks user_s=/);
});
