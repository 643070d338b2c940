import assert from "node:assert/strict";
import { isOwnStatement, MARKER } from "./marker.ts";

Deno.test("recognises the collector's and nri-postgresql's own statements", () => {
  assert.ok(isOwnStatement(`${MARKER} SELECT 1`));
  assert.ok(isOwnStatement("  explain (format json) select 1"));
  assert.ok(isOwnStatement("SELECT $1 as newrelic, x FROM y"));
  assert.ok(!isOwnStatement("SELECT * FROM orders WHERE id = $1"));
  assert.ok(!isOwnStatement("/* app */ SELECT 1"));
});
