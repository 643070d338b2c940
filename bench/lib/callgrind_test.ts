import assert from "node:assert/strict";
import { startCluster } from "../../tests/support/cluster.ts";
import {
  callgrindSingleUser,
  libraryInstructions,
  marginalPerStatement,
  parseCallgrindOutput,
  profileDir,
} from "./callgrind.ts";
import { stopServer } from "./pg_server.ts";
import { initPgbench } from "./pgbench.ts";
import { selectScript } from "./single_user.ts";

/** A profile in callgrind's format with compressed names, inlined files and calls. */
const PROFILE = `# callgrind format
version: 1
creator: callgrind-3.19.0
cmd:  postgres --single -c a=b
positions: line
events: Ir
summary: 1000

ob=(1) /usr/lib/postgresql/15/bin/postgres
fl=(1) postgres.c
fn=(1) exec_simple_query
10 300
+2 100
cob=(2) /usr/lib/postgresql/15/lib/pg_stat_statements.so
cfl=(2) pg_stat_statements.c
cfn=(2) pgss_ExecutorEnd
calls=5 40
+1 250
* 50

ob=(2)
fl=(2)
fn=(2)
40 200
fi=(3) inline.h
+3 50
fe=(2)
cob=(1)
cfn=(1)
calls=1 10
-2 400

ob=(3) /usr/lib/x86_64-linux-gnu/libc.so.6
fl=(4) ???
fn=(3) 0x0000000000010240
62755
fn=(4) memcpy
0 300

totals: 1000
`;

Deno.test("parseCallgrindOutput reads totals and each object's self cost, not call costs", () => {
  const p = parseCallgrindOutput(PROFILE);
  assert.equal(p.totalInstructions, 1000);
  assert.deepEqual(
    [...p.selfByObject],
    [
      ["/usr/lib/postgresql/15/bin/postgres", 450],
      ["/usr/lib/postgresql/15/lib/pg_stat_statements.so", 250],
      ["/usr/lib/x86_64-linux-gnu/libc.so.6", 300],
    ],
  );
  assert.equal(libraryInstructions(p, "pg_stat_statements"), 250);
  assert.equal(libraryInstructions(p, "libc"), 300);
  assert.equal(libraryInstructions(p, "pg_querylens"), 0);
});

Deno.test("parseCallgrindOutput names what is missing", () => {
  assert.throws(() => parseCallgrindOutput("hello"), /no `events: Ir` header/);
  assert.throws(() => parseCallgrindOutput("events: Dr\n"), /no `events: Ir` header/);
  assert.throws(() => parseCallgrindOutput("events: Ir\nfn=(1) f\n0 5\n"), /no totals: or summary: line/);
  assert.throws(
    () => parseCallgrindOutput("events: Ir\nob=(7)\nfn=(1) f\n0 5\ntotals: 5\n"),
    /undefined object id \(7\)/,
  );
});

Deno.test("marginalPerStatement is the slope between two runs", () => {
  assert.equal(
    marginalPerStatement({ statements: 1000, instructions: 169_000_000 }, {
      statements: 3000,
      instructions: 381_000_000,
    }),
    106_000,
  );
  assert.throws(
    () => marginalPerStatement({ statements: 5, instructions: 1 }, { statements: 5, instructions: 2 }),
    /must have more statements than the first \(5, 5\)/,
  );
});

Deno.test("callgrind counts the server's instructions per statement, deterministic and per library", async () => {
  await using cluster = await startCluster({ name: "bench-callgrind" });
  await initPgbench(cluster, "postgres", 1);
  await stopServer(cluster);
  const dir = await profileDir(cluster);
  const run = (n: number, preload: string) => ({
    database: "postgres",
    settings: { shared_buffers: "32MB", shared_preload_libraries: preload, "pg_stat_statements.save": "off" },
    input: selectScript(n, 1),
  });
  const profile = async (n: number, preload: string) => {
    const p = await callgrindSingleUser(cluster, run(n, preload), `${dir}/${preload || "none"}-${n}.out`);
    const selfSum = [...p.selfByObject.values()].reduce((a, b) => a + b, 0);
    assert.equal(selfSum, p.totalInstructions, "every instruction belongs to one object");
    return p;
  };
  const none = [await profile(100, ""), await profile(300, "")];
  const pgss = [await profile(100, "pg_stat_statements"), await profile(300, "pg_stat_statements")];
  const perStatement = (p: typeof none) =>
    marginalPerStatement(
      { statements: 100, instructions: p[0].totalInstructions },
      { statements: 300, instructions: p[1].totalInstructions },
    );
  const base = perStatement(none);
  assert.ok(base > 10_000 && base < 1_000_000, `${base} instructions per statement`);
  assert.ok(perStatement(pgss) > base, `pgss ${perStatement(pgss)} vs none ${base}`);
  assert.equal(libraryInstructions(none[1], "pg_stat_statements"), 0);
  assert.ok(
    libraryInstructions(pgss[1], "pg_stat_statements") > libraryInstructions(pgss[0], "pg_stat_statements"),
  );

  const again = await profile(300, "");
  const drift = Math.abs(again.totalInstructions - none[1].totalInstructions) / none[1].totalInstructions;
  assert.ok(drift < 0.001, `the same run differs by ${(drift * 100).toFixed(3)}%`);
});
