import assert from "node:assert/strict";
import {
  boundTables,
  byPosition,
  type DatabaseObjects,
  indexesOf,
  indexParams,
  tableLocked,
  tableParams,
  tablesOf,
} from "./relations.ts";

const TREE: DatabaseObjects = new Map([
  ["archive", new Map([["orders", ["orders_pkey"]]])],
  ["public", new Map([["docs", []], ["orders", ["orders_customer_idx", "orders_pkey"]]])],
]);

Deno.test("tablesOf and indexesOf flatten a tree in its order", () => {
  assert.deepEqual(tablesOf(TREE), [
    { schema: "archive", table: "orders" },
    { schema: "public", table: "docs" },
    { schema: "public", table: "orders" },
  ]);
  assert.deepEqual(indexesOf(TREE), [
    { schema: "archive", table: "orders", index: "orders_pkey" },
    { schema: "public", table: "orders", index: "orders_customer_idx" },
    { schema: "public", table: "orders", index: "orders_pkey" },
  ]);
  assert.deepEqual(tablesOf(new Map()), []);
  assert.deepEqual(indexesOf(new Map([["s", new Map([["t", []]])]])), []);
});

Deno.test("parameters are parallel array literals, quoted and escaped", () => {
  assert.deepEqual(tableParams(tablesOf(TREE)), [
    '{"archive","public","public"}',
    '{"orders","docs","orders"}',
  ]);
  assert.deepEqual(indexParams([{ schema: 'we"ird', table: "a,b", index: "x\\y" }]), [
    '{"we\\"ird"}',
    '{"a,b"}',
    '{"x\\\\y"}',
  ]);
});

Deno.test("boundTables lists the relation kinds and rejects anything but single letters", () => {
  assert.match(boundTables(["r", "p"]), /c\.relkind IN \('r', 'p'\)/);
  assert.match(boundTables(["r"]), /unnest\(\$1::text\[\], \$2::text\[\]\) WITH ORDINALITY/);
  for (const bad of [[], ["rr"], ["'"], ["r", "1"]]) {
    assert.throws(() => boundTables(bad), /invalid relation kinds/);
  }
});

Deno.test("tableLocked covers the table, its TOAST table and their indexes", () => {
  const text = tableLocked("c");
  assert.match(text, /e\.relation IN \(c\.oid, c\.reltoastrelid\)/);
  assert.match(text, /x\.indrelid IN \(c\.oid, c\.reltoastrelid\)/);
});

Deno.test("byPosition places rows by their position and rejects positions out of range", () => {
  const rows = [{ i: 2, v: "c" }, { i: 0, v: "a" }];
  assert.deepEqual(byPosition(rows, 4), [{ i: 0, v: "a" }, undefined, { i: 2, v: "c" }, undefined]);
  assert.deepEqual(byPosition([], 2), [undefined, undefined]);
  for (const bad of [{ i: 4 }, { i: -1 }, { i: "x" }, { v: 1 }]) {
    assert.throws(() => byPosition([bad], 4), /result row has position .*expected 0 to 3/);
  }
});
