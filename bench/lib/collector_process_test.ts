import assert from "node:assert/strict";
import { runTimedCollector, runTimedCommand } from "./collector_process.ts";
import { childPids } from "./proc.ts";

/** A TCP port on 127.0.0.1 with nothing listening a moment ago. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const unreachable = () => ({
  HOSTNAME: "127.0.0.1",
  PORT: String(closedPort()),
  USERNAME: "nobody",
  PASSWORD: "nothing",
});

Deno.test("a one-shot run reports the collector's output, exit code and resource usage", async () => {
  const run = await runTimedCollector(["-show_version"], {});
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^pgquerylens-collector Version: /);
  assert.ok(run.usage.maxRssKb > 10 * 1024, `peak RSS ${run.usage.maxRssKb} KiB`);
  assert.ok(run.usage.cpuMs > 0);
  assert.ok(run.wallMs >= run.usage.wallMs - 10, `${run.wallMs} ms vs time's ${run.usage.wallMs} ms`);
  assert.deepEqual(run.cycleMs, []);
});

Deno.test("a daemon run is stopped cleanly after the wanted number of cycles", async () => {
  const run = await runTimedCollector(["-interval=1", "-verbose"], unreachable(), {
    stopAfterCycles: 2,
    timeoutMs: 30_000,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.usage.signal, undefined, "the collector exits by itself after SIGTERM");
  assert.ok(run.cycleMs.length >= 2 && run.cycleMs.length <= 3, run.stderr);
  assert.match(run.stderr, /cannot collect from 127\.0\.0\.1/);
});

Deno.test("a run past its timeout is killed and fails with the stderr tail", async () => {
  await assert.rejects(
    runTimedCollector(["-interval=1", "-verbose"], unreachable(), { stopAfterCycles: 1000, timeoutMs: 2500 }),
    /did not finish within 2500 ms; stderr tail:\n.*cycle took/s,
  );
  assert.deepEqual(
    childPids(Deno.pid).filter((pid) => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("main.ts");
      } catch {
        return false;
      }
    }),
    [],
  );
});

Deno.test("runTimedCommand records when the first byte reached stdout, from the caller's clock", async () => {
  const run = await runTimedCommand(
    ["sh", "-c", 'sleep 0.4; printf first; sleep 0.4; echo " second $FOO-${BAR:-unset}"'],
    { FOO: "given" },
    { timeoutMs: 10_000 },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "first second given-unset\n", "only the given environment reaches the command");
  assert.ok(run.firstStdoutMs !== undefined);
  assert.ok(run.firstStdoutMs >= 390, `first byte after ${run.firstStdoutMs} ms`);
  assert.ok(
    run.wallMs - run.firstStdoutMs >= 390,
    `first byte ${run.firstStdoutMs} ms, exit ${run.wallMs} ms`,
  );
  assert.ok(run.usage.maxRssKb > 0);
});

Deno.test("runTimedCommand leaves firstStdoutMs unset when nothing reaches stdout", async () => {
  const run = await runTimedCommand(["sh", "-c", "echo only-stderr >&2"], {}, { timeoutMs: 10_000 });
  assert.equal(run.code, 0);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr, "only-stderr\n");
  assert.equal(run.firstStdoutMs, undefined);
});

Deno.test("runTimedCommand refuses an empty command", async () => {
  await assert.rejects(runTimedCommand([], {}), /command is empty/);
});

Deno.test("runTimedCommand reports the CPU time the command used, however busy the machine is", async () => {
  const spin = "import process from 'node:process'; const used = () => { const u = process.cpuUsage(); " +
    "return (u.user + u.system) / 1000; }; while (used() < 155) {}";
  const run = await runTimedCommand([Deno.execPath(), "eval", spin], {}, { timeoutMs: 30_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.usage.cpuMs >= 155 && run.usage.cpuMs < 1500, `CPU ${run.usage.cpuMs} ms`);
  assert.equal(run.usage.cpuMs, run.usage.userMs + run.usage.sysMs);
});
