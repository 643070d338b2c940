import assert from "node:assert/strict";
import { explainableStatement, initSqlParser, matchKey, obfuscateSql, statementType } from "./sql_text.ts";

await initSqlParser();

Deno.test("obfuscation replaces every literal and keeps identifiers with digits", () => {
  assert.equal(
    obfuscateSql("SELECT * FROM table1 WHERE id = 42 AND name = 'John' AND x = 1.5e3 AND b = B'101'"),
    "SELECT * FROM table1 WHERE id = ? AND name = ? AND x = ? AND b = ?",
  );
  assert.equal(obfuscateSql("select $$secret$$, $tag$s2$tag$, E'a\\'b'"), "select ?, ?, ?");
  assert.equal(obfuscateSql('SELECT "Col9" FROM t2 WHERE a = $1'), 'SELECT "Col9" FROM t2 WHERE a = $1');
  assert.equal(obfuscateSql("ALTER ROLE bob PASSWORD 'hunter2'"), "ALTER ROLE bob PASSWORD ?");
  assert.equal(obfuscateSql("select 'é', 7 from t"), "select ?, ? from t");
});

Deno.test("unscannable (truncated) texts leak no literal", () => {
  const out = obfuscateSql("SELECT * FROM t3 WHERE a = 17 AND note = 'secret val");
  assert.ok(!out.includes("secret"), out);
  assert.ok(!/\b17\b/.test(out), out);
  assert.ok(out.startsWith("SELECT * FROM t3 WHERE a = ?"), out);
});

Deno.test("statement types come from the parse tree", () => {
  assert.equal(statementType("select 1"), "SELECT");
  assert.equal(statementType("WITH x AS (SELECT 1) SELECT * FROM x"), "SELECT");
  assert.equal(statementType("/* c */ INSERT INTO t VALUES ($1)"), "INSERT");
  assert.equal(statementType("update t set a = $1"), "UPDATE");
  assert.equal(statementType("DELETE FROM t"), "DELETE");
  assert.equal(statementType("VACUUM t"), "OTHER");
  assert.equal(statementType("SELECT a, b FROM t WHERE x = 'trunc"), "SELECT");
});

Deno.test("a raw text and its normalized form share a match key", () => {
  assert.equal(
    matchKey("SELECT * FROM t WHERE a = 5 AND b = 'x'"),
    matchKey("SELECT * FROM t WHERE a = $1 AND b = $2"),
  );
  assert.notEqual(matchKey("SELECT * FROM t WHERE a = 5"), matchKey("SELECT * FROM u WHERE a = 5"));
  assert.equal(matchKey("SELECT * FROM t WHERE a = 'unterminated"), undefined);
});

Deno.test("only one plannable statement is explainable", () => {
  assert.deepEqual(explainableStatement("select * from t where a = $1 and b = $3;"), {
    ok: true,
    statement: "select * from t where a = $1 and b = $3",
    paramCount: 3,
  });
  for (
    const bad of [
      "select 1; drop table t",
      "drop table t",
      "VACUUM",
      "select * into t2 from t",
      "select 'x",
      "",
      "COPY t TO '/tmp/x'",
    ]
  ) {
    const r = explainableStatement(bad);
    assert.equal(r.ok, false, bad);
  }
  const r = explainableStatement("/* lead */ UPDATE t SET a = 1 WHERE id = 2");
  assert.ok(r.ok && r.statement === "UPDATE t SET a = 1 WHERE id = 2" && r.paramCount === 0);
});

Deno.test("truncated texts are classified by their first keyword after comments", () => {
  assert.equal(statementType("/* a /* nested */ b */ -- x\n  DELETE FROM t WHERE x = 'trunc"), "DELETE");
  assert.equal(statementType("-- only comment"), "OTHER");
});

Deno.test("statement kinds list every statement of a text", async () => {
  const { statementKinds } = await import("./sql_text.ts");
  assert.deepEqual(statementKinds("PREPARE p AS SELECT $1; DROP TABLE t"), ["PrepareStmt", "DropStmt"]);
  assert.deepEqual(statementKinds("PREPARE p AS SELECT * FROM t WHERE a = $1"), ["PrepareStmt"]);
  assert.deepEqual(statementKinds("select 'x"), []);
});
