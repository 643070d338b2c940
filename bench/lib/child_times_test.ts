import assert from "node:assert/strict";
import { BASH_BINARY, CHILD_TIMES_SCRIPT, parseChildTimes } from "./child_times.ts";

/** Runs `cmd` under the script; its exit code and the parsed report. */
async function timed(cmd: string[]) {
  const file = await Deno.makeTempFile({ prefix: "bench-child-times-" });
  try {
    const out = await new Deno.Command(BASH_BINARY, {
      args: ["-c", CHILD_TIMES_SCRIPT, "timed", file, ...cmd],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      times: parseChildTimes(await Deno.readTextFile(file)),
    };
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("the script reports a command's CPU time to the millisecond and keeps its output", async () => {
  // Spins until the process itself has used 150 ms of CPU, however busy the machine is.
  const spin = "import process from 'node:process'; const used = () => { const u = process.cpuUsage(); " +
    "return (u.user + u.system) / 1000; }; while (used() < 150) {} console.log('done')";
  const run = await timed([Deno.execPath(), "eval", spin]);
  assert.equal(run.code, 0);
  assert.equal(run.stdout, "done\n");
  const cpu = run.times.userMs + run.times.sysMs;
  assert.ok(cpu >= 150 && cpu < 1500, `CPU ${cpu} ms for a spin of 150 ms of CPU`);
});

Deno.test("the script exits with the command's status", async () => {
  assert.equal((await timed(["sh", "-c", "exit 3"])).code, 3);
  assert.equal((await timed(["sh", "-c", "kill -TERM $$"])).code, 128 + 15);
});

Deno.test("parseChildTimes reads the children's line, minutes included", () => {
  assert.deepEqual(parseChildTimes("0m0.002s 0m0.000s\n0m0.053s 0m0.058s\n"), { userMs: 53, sysMs: 58 });
  assert.deepEqual(parseChildTimes("0m0.000s 0m0.000s\n2m1.500s 0m0,250s\n"), {
    userMs: 121_500,
    sysMs: 250,
  });
});

Deno.test("parseChildTimes names what is wrong with a bad report", () => {
  assert.throws(() => parseChildTimes(""), /must have 2 lines, got 0/);
  assert.throws(() => parseChildTimes("0m0.1s 0m0.1s\n0m0.1s\n"), /not two durations/);
  assert.throws(() => parseChildTimes("0m0.1s 0m0.1s\n1.5 0m0.1s\n"), /not a bash times duration: "1.5"/);
});
