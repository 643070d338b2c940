import assert from "node:assert/strict";
import { parseStartTask, startTaskArgs, startTaskPermissionFlags } from "./start_task.ts";

Deno.test("the start task runs main.ts under the collector permission set without prompts", () => {
  const args = startTaskArgs();
  assert.equal(args[0], "run");
  assert.equal(args.at(-1), "main.ts");
  assert.ok(args.includes("-P=collector"));
  assert.ok(args.includes("--no-prompt"), "a missing permission must fail, never wait for an answer");
  assert.ok(!args.some((a) => a === "-A" || a.startsWith("--allow-")), "no permission beyond the set");
  assert.deepEqual(startTaskPermissionFlags(), ["--no-prompt", "-P=collector"]);
});

Deno.test("a start task of another form is refused with the text it found", () => {
  assert.deepEqual(parseStartTask("deno run -P=x main.ts"), ["run", "-P=x", "main.ts"]);
  assert.throws(
    () => parseStartTask("deno test main.ts"),
    /tasks\.start must be "deno run <flags> main\.ts", got "deno test main\.ts"/,
  );
  assert.throws(() => parseStartTask(undefined), /got undefined/);
});
