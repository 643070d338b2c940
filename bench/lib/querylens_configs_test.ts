import assert from "node:assert/strict";
import { configuration, CONFIGURATIONS, serverSettings, usesQuerylens } from "./querylens_configs.ts";

Deno.test("serverSettings: shared buffers for the data set, the library and the extension's settings", () => {
  const byId = Object.fromEntries(CONFIGURATIONS.map((c) => [c.id, serverSettings(c)]));
  for (const [id, s] of Object.entries(byId)) {
    assert.equal(s.shared_buffers, "256MB");
    assert.equal(s.track_io_timing, "off");
    assert.equal(s.compute_query_id, id === "qid" ? "on" : "auto");
  }
  assert.equal(byId.none.shared_preload_libraries, "");
  assert.equal(byId.qid.shared_preload_libraries, "");
  assert.equal(byId.pgss.shared_preload_libraries, "pg_stat_statements");
  assert.equal(byId.ql_ring.shared_preload_libraries, "pg_querylens");
  assert.equal(byId.ql_ring["pg_querylens.sample_period"], "0");
  assert.equal(byId.ql_ring["pg_querylens.cpu"], "off");
  assert.equal(byId.ql_sampler["pg_querylens.sample_period"], "10");
  assert.equal(byId.ql_cpu["pg_querylens.cpu"], "thread");
});

Deno.test("which configuration is measured how", () => {
  assert.equal(CONFIGURATIONS[0].id, "none");
  assert.deepEqual(CONFIGURATIONS.filter((c) => !c.callgrind).map((c) => c.id), ["ql_sampler"]);
  assert.deepEqual(CONFIGURATIONS.filter((c) => !c.pgbench).map((c) => c.id), ["qid"]);
  assert.deepEqual(CONFIGURATIONS.filter((c) => c.selfTiming).map((c) => c.id), [
    "ql_ring",
    "ql_sampler",
    "ql_cpu",
  ]);
  assert.deepEqual(CONFIGURATIONS.filter(usesQuerylens).map((c) => c.id), [
    "ql_ring",
    "ql_sampler",
    "ql_cpu",
  ]);
});

Deno.test("configuration looks up by id and names an unknown one", () => {
  assert.equal(configuration("pgss").label, "pg_stat_statements (defaults)");
  // @ts-expect-error: not a configuration id
  assert.throws(() => configuration("nope"), /unknown configuration "nope" \(known: none, qid, pgss, /);
});
