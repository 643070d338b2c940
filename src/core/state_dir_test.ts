import assert from "node:assert/strict";
import { join } from "node:path";
import { ensureStateDir, errorText, StateDirError, writeStateFile } from "./state_dir.ts";

Deno.test("ensureStateDir creates a 0700 directory and refuses a file in its place", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "a", "b");
    await ensureStateDir(dir, "test state");
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    await ensureStateDir(dir, "test state");
    const file = join(root, "plain");
    await Deno.writeTextFile(file, "");
    await assert.rejects(
      () => ensureStateDir(file, "test state"),
      (e: unknown) =>
        e instanceof StateDirError && e.path === file &&
        /test state directory .* not a directory/.test(e.message),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeStateFile replaces the file atomically with mode 0600 and leaves no temporary file", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "s.json");
    await writeStateFile(path, "one", "test state");
    await writeStateFile(path, "two", "test state");
    assert.equal(await Deno.readTextFile(path), "two");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const missing = join(root, "no", "s.json");
    await assert.rejects(
      () => writeStateFile(missing, "x", "test state"),
      (e: unknown) =>
        e instanceof StateDirError && e.message.startsWith(`cannot write test state ${missing}`),
    );
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name).sort(), ["s.json"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("errorText gives the message of an Error and the text of anything else", () => {
  assert.equal(errorText(new Error("boom")), "boom");
  assert.equal(errorText(42), "42");
});
