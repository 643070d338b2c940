import assert from "node:assert/strict";
import {
  assertExtendedDocumentsValid,
  assertOtherDocumentsUnchanged,
  fixtureSnapshot,
} from "./extended_nri.ts";

Deno.test("assertOtherDocumentsUnchanged: the fixture itself adds nothing; a changed QPM row fails", () => {
  assertOtherDocumentsUnchanged(fixtureSnapshot, 0);
  assert.throws(() => assertOtherDocumentsUnchanged(fixtureSnapshot, 1), assert.AssertionError);
  const changed = () => {
    const s = fixtureSnapshot();
    s.slowQueries = s.slowQueries.map((q) => ({ ...q, queryText: `${q.queryText} ` }));
    return s;
  };
  assert.ok(fixtureSnapshot().slowQueries.length > 0);
  assert.throws(() => assertOtherDocumentsUnchanged(changed, 0), assert.AssertionError);
});

Deno.test("assertExtendedDocumentsValid: a document of another schema fails", () => {
  assert.throws(
    () => assertExtendedDocumentsValid(fixtureSnapshot, "active-session-history.schema.json"),
    assert.AssertionError,
  );
});
