import assert from "node:assert/strict";
import { assertConfigError } from "./testing.ts";
import { ConfigError } from "./types.ts";

Deno.test("assertConfigError accepts a matching ConfigError and rejects anything else", () => {
  const e = assertConfigError(
    () => {
      throw new ConfigError("port: must be an integer", "port");
    },
    "port",
    "integer",
  );
  assert.equal(e.key, "port");
  assert.throws(() => assertConfigError(() => 1, "x"));
  assert.throws(() =>
    assertConfigError(() => {
      throw new Error("port");
    }, "port")
  );
  assert.throws(() =>
    assertConfigError(() => {
      throw new ConfigError("port: bad");
    }, "timeout")
  );
});
