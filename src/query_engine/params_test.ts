import assert from "node:assert/strict";
import { arrayLiteral } from "./params.ts";

Deno.test("array literals quote and escape every element", () => {
  assert.equal(arrayLiteral([]), "{}");
  assert.equal(arrayLiteral(["shop", "my db"]), '{"shop","my db"}');
  assert.equal(arrayLiteral(['a"b', "c\\d", "{x}", "NULL"]), '{"a\\"b","c\\\\d","{x}","NULL"}');
  assert.equal(arrayLiteral(["-6410924811397428219", 7]), '{"-6410924811397428219","7"}');
});
