import assert from "node:assert/strict";
import { childPids, parentPidOf } from "./proc.ts";

Deno.test("parentPidOf reads this process's parent from its own stat line", () => {
  assert.equal(parentPidOf(Deno.readTextFileSync("/proc/self/stat")), Deno.ppid);
});

Deno.test("parentPidOf copes with spaces and parentheses in the command name", () => {
  assert.equal(parentPidOf("4242 (a b) c)) S 17 4242 4242 0 -1"), 17);
});

Deno.test("parentPidOf rejects text that is not a stat line", () => {
  assert.throws(() => parentPidOf("hello"), /not a \/proc\/<pid>\/stat line/);
});

Deno.test("childPids finds a spawned child and forgets it once it is gone", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  try {
    assert.ok(childPids(Deno.pid).includes(child.pid));
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  assert.ok(!childPids(Deno.pid).includes(child.pid));
});
