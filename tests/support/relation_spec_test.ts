import assert from "node:assert/strict";
import { RELATION_SPEC } from "./relation_spec.ts";

Deno.test("RELATION_SPEC lists the specification's 19 statistics, 3 bloat and 3 index metrics", () => {
  assert.deepEqual(
    Object.fromEntries(Object.entries(RELATION_SPEC).map(([q, list]) => [q, list.length])),
    { bloat: 3, table: 19, index: 3 },
  );
  const names = Object.values(RELATION_SPEC).flat().map(([name]) => name);
  assert.equal(new Set(names).size, names.length, "no metric listed twice");
});
