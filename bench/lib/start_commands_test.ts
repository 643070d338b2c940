import assert from "node:assert/strict";
import { startTaskArgs } from "../../scripts/start_task.ts";
import { runTimedCommand } from "./collector_process.ts";
import { FLOOR_LINE } from "./floor_main.ts";
import { floorCommand, startTaskCommand } from "./start_commands.ts";

Deno.test("the collector command is deno with the start task's arguments, then the collector's", () => {
  const cmd = startTaskCommand(["-show_version"]);
  assert.deepEqual(cmd, [Deno.execPath(), ...startTaskArgs(), "-show_version"]);
  assert.equal(cmd.at(-2), "main.ts");
});

Deno.test("the floor command swaps main.ts for the floor program and keeps every flag", () => {
  const floor = floorCommand();
  const start = startTaskCommand();
  assert.deepEqual(floor.slice(0, -1), start.slice(0, -1));
  assert.equal(floor.at(-1), "bench/lib/floor_main.ts");
});

Deno.test("the floor program runs under the start task's permission set and prints its one line", async () => {
  const run = await runTimedCommand(floorCommand(), {}, { timeoutMs: 30_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, `${FLOOR_LINE}\n`);
  assert.equal(run.stderr, "");
  assert.ok(run.firstStdoutMs !== undefined && run.firstStdoutMs <= run.wallMs);
  assert.ok(run.usage.maxRssKb > 0);
});
