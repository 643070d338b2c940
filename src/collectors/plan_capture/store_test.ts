import assert from "node:assert/strict";
import { join } from "node:path";
import { StateDirError } from "../../core/state_dir.ts";
import { addExecutions, createDictionary, planKey, touchPlan } from "./dictionary.ts";
import { loadPlanDictionary, planStateName, savePlanDictionary } from "./store.ts";

Deno.test("planStateName is one safe file name per instance", () => {
  assert.equal(planStateName("db1.example.net", "5432"), "plans-db1.example.net-5432.json");
  assert.equal(planStateName("/var/run/postgresql", "5433"), "plans-_var_run_postgresql-5433.json");
});

Deno.test("a first run starts empty; what is saved is loaded again, mode 0600", async () => {
  const dir = join(await Deno.makeTempDir(), "state", "nested");
  try {
    const first = await loadPlanDictionary(dir, "h", "5432", 50);
    assert.equal(first.problem, undefined);
    assert.equal(first.dict.plans.size, 0);
    assert.equal(first.path, join(dir, "plans-h-5432.json"));
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    const plan = touchPlan(first.dict, "shop", "1", "2", 1_700_000_000_000);
    addExecutions(plan, 3, 9);
    await savePlanDictionary(first.path, first.dict);
    assert.equal((await Deno.stat(first.path)).mode! & 0o777, 0o600);
    const again = await loadPlanDictionary(dir, "h", "5432", 50);
    assert.equal(again.problem, undefined);
    assert.deepEqual(again.dict.plans.get(planKey("shop", "1", "2")), plan);
    const other = await loadPlanDictionary(dir, "h", "5433", 50);
    assert.equal(other.dict.plans.size, 0, "another port, another file");
  } finally {
    await Deno.remove(join(dir, "..", ".."), { recursive: true });
  }
});

Deno.test("a corrupt or unreadable file is reported and the run starts empty", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, planStateName("h", "1"));
    await Deno.writeTextFile(path, '{"version":1,"plans":[{"planId":"x"}]');
    const broken = await loadPlanDictionary(dir, "h", "1", 10);
    assert.match(broken.problem ?? "", /plan dictionary .*plans-h-1\.json is corrupt \(.*\): starting empty/);
    assert.equal(broken.dict.plans.size, 0);
    await Deno.writeTextFile(path, '{"version":1,"plans":[{"planId":"x"}],"queries":[],"counters":[]}');
    const wrong = await loadPlanDictionary(dir, "h", "1", 10);
    assert.match(wrong.problem ?? "", /is corrupt \(plans\[0\]\.databaseName is not a non-empty string\)/);
    await savePlanDictionary(wrong.path, createDictionary(10));
    assert.equal(
      (await loadPlanDictionary(dir, "h", "1", 10)).problem,
      undefined,
      "the next save repairs it",
    );
    await Deno.mkdir(join(dir, planStateName("h", "2")));
    const unreadable = await loadPlanDictionary(dir, "h", "2", 10);
    assert.match(
      unreadable.problem ?? "",
      /cannot read plan dictionary .*plans-h-2\.json .*: starting empty/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a state directory that is a file is an error naming it; a failed save too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "not-a-dir");
    await Deno.writeTextFile(file, "");
    await assert.rejects(
      () => loadPlanDictionary(file, "h", "1", 10),
      (e) =>
        e instanceof StateDirError &&
        /plan dictionary directory .*not-a-dir exists but is not a directory/.test(e.message),
    );
    await assert.rejects(
      () => savePlanDictionary(join(file, "plans.json"), createDictionary(1)),
      (e) =>
        e instanceof StateDirError && /cannot write plan dictionary .*not-a-dir\/plans\.json/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
