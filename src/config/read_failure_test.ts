import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { CONFIG_DIRS, readFailure } from "./read_failure.ts";

Deno.test("readFailure words each kind of read error for an operator", () => {
  assert.match(
    readFailure(new Deno.errors.NotCapable("Requires read access")),
    /outside the directories .*\/etc\/pgquerylens/,
  );
  assert.doesNotMatch(readFailure(new Deno.errors.NotCapable("x")), /allow-read/);
  assert.equal(readFailure(new Deno.errors.NotFound("x")), "no such file");
  assert.equal(readFailure(new Deno.errors.PermissionDenied("x")), "permission denied by the file system");
  assert.equal(readFailure(new Error("odd")), "odd");
});

Deno.test("readFailure reports a real missing file", () => {
  try {
    Deno.readTextFileSync("/nonexistent/pgquerylens.toml");
    assert.fail("read succeeded");
  } catch (e) {
    assert.equal(readFailure(e), "no such file");
  }
});

Deno.test("CONFIG_DIRS are all readable under the collector's permission set", () => {
  const read: string[] = denoJson.permissions.collector.read;
  for (const dir of CONFIG_DIRS) assert.ok(read.includes(dir), dir);
});
