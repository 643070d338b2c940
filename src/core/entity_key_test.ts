import assert from "node:assert/strict";
import { compareCodePoints, entityKey } from "./entity_key.ts";
import type { BaseEntity } from "./model.ts";

Deno.test("entityKey: index entity with attributes sorted by key", () => {
  const e: BaseEntity = {
    name: "idx",
    type: "pg-index",
    idAttributes: [
      { key: "port", value: "5432" },
      { key: "pg-table", value: "t" },
      { key: "host", value: "localhost" },
      { key: "pg-schema", value: "public" },
      { key: "pg-database", value: "demo" },
    ],
  };
  assert.equal(
    entityKey(e),
    "pg-index:idx:host=localhost:pg-database=demo:pg-schema=public:pg-table=t:port=5432",
  );
});

Deno.test("entityKey: no id attributes gives type:name", () => {
  assert.equal(
    entityKey({ name: "db1:5432", type: "pg-instance", idAttributes: [] }),
    "pg-instance:db1:5432",
  );
});

Deno.test("entityKey: only the id-attribute part is lower-cased", () => {
  const e: BaseEntity = {
    name: "Orders",
    type: "pg-table",
    idAttributes: [
      { key: "Host", value: "DB.Example.COM" },
      { key: "pg-database", value: "Shop" },
    ],
  };
  assert.equal(entityKey(e), "pg-table:Orders:host=db.example.com:pg-database=shop");
});

Deno.test("entityKey: does not reorder the caller's attributes", () => {
  const ids = [{ key: "port", value: "1" }, { key: "host", value: "h" }];
  entityKey({ name: "d", type: "pg-database", idAttributes: ids });
  assert.deepEqual(ids.map((a) => a.key), ["port", "host"]);
});

Deno.test("entityKey: upper-case keys sort before lower-case ones (byte order)", () => {
  const e: BaseEntity = {
    name: "n",
    type: "t",
    idAttributes: [{ key: "a", value: "1" }, { key: "B", value: "2" }],
  };
  assert.equal(entityKey(e), "t:n:b=2:a=1");
});

Deno.test("entityKey: empty type or name is rejected with a clear error", () => {
  assert.throws(() => entityKey({ name: "x", type: "", idAttributes: [] }), /entity "x" has an empty type/);
  assert.throws(
    () => entityKey({ name: "", type: "pg-table", idAttributes: [] }),
    /"pg-table" has an empty name/,
  );
});

Deno.test("compareCodePoints: orders by code point, astral after BMP like UTF-8 bytes", () => {
  assert.ok(compareCodePoints("a", "b") < 0);
  assert.ok(compareCodePoints("ab", "a") > 0);
  assert.equal(compareCodePoints("same", "same"), 0);
  // U+FF5E (BMP) vs U+1F600 (astral): UTF-16 code units would put the emoji first.
  assert.ok(compareCodePoints("\uff5e", "\u{1f600}") < 0);
});
