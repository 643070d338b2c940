import assert from "node:assert/strict";
import {
  childPids,
  cmdline,
  descendants,
  isAlive,
  plainTerminalText,
  runInPty,
  shellQuote,
  spawnStartTask,
  startTaskCommandArgs,
  taskEnv,
} from "./task_process.ts";
import { startTaskArgs } from "../../scripts/start_task.ts";
import { versionLine } from "../../src/version.ts";
import { waitUntil } from "./workload.ts";

Deno.test("task_process: a clean environment holds PATH, HOME and what the test passes", () => {
  const env = taskEnv({ USERNAME: "u" });
  assert.deepEqual(Object.keys(env).sort(), ["HOME", "PATH", "USERNAME"]);
  assert.equal(env.PATH, Deno.env.get("PATH") ?? "/usr/bin:/bin");
  assert.deepEqual(startTaskCommandArgs(["-interval", "1s"]), [
    "task",
    "--quiet",
    "start",
    "-interval",
    "1s",
  ]);
});

Deno.test("task_process: shell quoting survives sh, and terminal text loses colours and CRs", async () => {
  const words = ["plain", "two words", "it's", `"dq" $HOME \`x\``, "", "--deny-net=127.0.0.1"];
  const out = await new Deno.Command("sh", {
    args: ["-c", `printf '%s\\n' ${words.map(shellQuote).join(" ")}`],
    stdout: "piped",
  }).output();
  assert.deepEqual(new TextDecoder().decode(out.stdout).split("\n").slice(0, -1), words);
  assert.equal(plainTerminalText("\x1b[0m\x1b[1mAllow?\x1b[0m [y/n]\r\n"), "Allow? [y/n]\n");
});

Deno.test("task_process: /proc tells children, descendants, command lines and liveness", async () => {
  const child = new Deno.Command("sh", { args: ["-c", "sleep 30 & sleep 30 & wait"] }).spawn();
  const sleeping = () => childPids(child.pid).filter((p) => cmdline(p)?.[0] === "sleep");
  try {
    await waitUntil("two sleeps", () => Promise.resolve(sleeping().length === 2));
    const kids = childPids(child.pid);
    assert.deepEqual(descendants(child.pid).sort(), kids.sort());
    assert.deepEqual(cmdline(kids[0]), ["sleep", "30"]);
    assert.ok(isAlive(kids[0]));
    for (const k of kids) Deno.kill(k, "SIGKILL");
    await waitUntil("the sleeps to be gone", () => Promise.resolve(!kids.some(isAlive)));
  } finally {
    for (const k of childPids(child.pid)) Deno.kill(k, "SIGKILL");
    await child.status;
  }
  assert.equal(isAlive(child.pid), false);
  assert.equal(cmdline(child.pid), undefined);
  assert.deepEqual(childPids(child.pid), []);
});

Deno.test("task_process: runInPty gives the command a terminal, its exit code and its output", async () => {
  const run = await runInPty("sh", ["-c", '[ -t 0 ] && [ -t 2 ] && echo tty; echo "$SECRET"; exit 3'], {
    SECRET: "passed",
  }, 10_000);
  assert.equal(run.timedOut, false);
  assert.equal(run.code, 3);
  assert.equal(run.output, "tty\npassed\n");
  assert.deepEqual(run.leftover, []);
});

Deno.test("task_process: runInPty kills a command still running at the timeout, with its children", async () => {
  const run = await runInPty("sh", ["-c", "sleep 60 & sleep 60"], {}, 1000);
  assert.equal(run.timedOut, true);
  assert.equal(run.code, undefined);
  assert.ok(run.ms >= 1000 && run.ms < 8000, `${run.ms} ms`);
  assert.deepEqual(run.leftover, []);
  await assert.rejects(() => runInPty("true", [], {}, 0), /timeoutMs must be positive, got 0/);
});

Deno.test("task_process: spawnStartTask runs deno task start, passing the flags to the collector", async () => {
  await using run = spawnStartTask(["-show_version"], {});
  const out = await run.finished();
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, `${versionLine()}\n`);
  assert.equal(out.stderr, "");

  // SIGTERM reaches the collector through deno task, which runs exactly the task's command.
  await using daemon = spawnStartTask(["-interval", "1s", "-verbose"], {
    USERNAME: "u",
    PASSWORD: "p",
    PORT: "1",
    TEMP_DIR: "/tmp/pgquerylens/test-task-process",
  });
  let collector: number | undefined;
  await waitUntil("the collector under deno task", () => {
    collector = childPids(daemon.pid).find((p) => cmdline(p)?.includes("main.ts"));
    return Promise.resolve(collector !== undefined);
  }, 20_000);
  assert.deepEqual(cmdline(collector!)!.slice(1), [...startTaskArgs(), "-interval", "1s", "-verbose"]);
  // Its signal handlers are in place once it runs cycles.
  await waitUntil("a cycle", () => Promise.resolve(daemon.stderr().includes("cycle took")), 20_000);
  const stopped = await daemon.stop("SIGTERM");
  assert.equal(stopped.code, 0, stopped.stderr);
  await waitUntil("the collector to be gone", () => Promise.resolve(!isAlive(collector!)), 2000);
  await Deno.remove("/tmp/pgquerylens/test-task-process", { recursive: true }).catch(() => {});
});

Deno.test("task_process: disposing a start task kills the collector under it too", async () => {
  let collector: number | undefined;
  let disposedAt = 0;
  {
    await using daemon = spawnStartTask(["-interval", "1s"], {
      USERNAME: "u",
      PASSWORD: "p",
      PORT: "1",
      TEMP_DIR: "/tmp/pgquerylens/test-task-process-dispose",
    });
    await waitUntil("the collector under deno task", () => {
      collector = childPids(daemon.pid).find((p) => cmdline(p)?.includes("main.ts"));
      return Promise.resolve(collector !== undefined);
    }, 20_000);
    disposedAt = performance.now();
  }
  // At once: not after the grace period a stop() gives.
  assert.ok(performance.now() - disposedAt < 5000, `${performance.now() - disposedAt} ms`);
  // Killed; gone once the kernel has finished its exit.
  await waitUntil("the collector to be gone", () => Promise.resolve(!isAlive(collector!)), 2000);
  await Deno.remove("/tmp/pgquerylens/test-task-process-dispose", { recursive: true }).catch(() => {});
});
