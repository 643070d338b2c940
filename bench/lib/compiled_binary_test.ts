import assert from "node:assert/strict";
import { join } from "node:path";
import { buildCompiledBinary, NO_DENORT_REASON } from "./compiled_binary.ts";

Deno.test("without DENORT_BIN there is no binary, and the reason says so", async () => {
  assert.deepEqual(await buildCompiledBinary(undefined, "/nonexistent/out"), { reason: NO_DENORT_REASON });
  assert.deepEqual(await buildCompiledBinary("", "/nonexistent/out"), { reason: NO_DENORT_REASON });
});

Deno.test("a DENORT_BIN that is not a denort runtime yields the compile task's refusal and no file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pgquerylens-compiled-binary-test-" });
  try {
    const output = join(dir, "collector");
    const built = await buildCompiledBinary(Deno.execPath(), output);
    assert.ok("reason" in built, JSON.stringify(built));
    assert.match(
      built.reason,
      /^deno task compile with DENORT_BIN=.* failed \(exit 1\): \[ERROR\] .*is the deno CLI/,
    );
    await assert.rejects(Deno.stat(output), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
