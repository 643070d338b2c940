import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { startQueryLensCluster } from "../../../tests/support/querylens.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import { EXPLAIN_PLANID_FUNCTION, explainedPlanId, probePlanIdLink } from "./link.ts";

Deno.test("without pg_querylens in the database there is no link", async () => {
  await using cluster = await startCluster({ name: "planlink0" });
  const sql = cluster.sql();
  assert.deepEqual(await probePlanIdLink(sql, await probeCapabilities(sql)), {
    kind: "absent",
    reason: "extension pg_querylens is not created in this database",
  });
});

Deno.test("with pg_querylens: linked for roles that may run the function, with the extension's planid", async (t) => {
  await using cluster = await startQueryLensCluster({ name: "planlink" });
  await cluster.createRole("monitor", "monitor-pw", { grants: ["pg_monitor"] });
  await cluster.createRole("nobody", "nobody-pw");
  const admin = cluster.sql();
  await admin.unsafe("CREATE TABLE t (id int PRIMARY KEY, v text)");
  const fn = `"public".${EXPLAIN_PLANID_FUNCTION}`;

  await t.step("a member of pg_read_all_stats is linked; another role is named", async () => {
    const monitor = clusterConnections(cluster, { username: "monitor", password: "monitor-pw" });
    const nobody = clusterConnections(cluster, { username: "nobody", password: "nobody-pw" });
    try {
      const m = monitor.sql("postgres");
      assert.deepEqual(await probePlanIdLink(m, await probeCapabilities(m)), { kind: "linked", fn });
      const n = nobody.sql("postgres");
      assert.deepEqual(await probePlanIdLink(n, await probeCapabilities(n)), {
        kind: "no_privilege",
        fn,
        role: "nobody",
      });
    } finally {
      await monitor.close();
      await nobody.close();
    }
  });

  await t.step("the planid is absent before the first EXPLAIN, the plan's after it", async () => {
    const session = cluster.sql();
    assert.equal(await explainedPlanId(session, fn), undefined);
    await session.unsafe("EXPLAIN SELECT v FROM t WHERE id = 3");
    const byIndex = await explainedPlanId(session, fn);
    assert.match(byIndex ?? "", /^-?\d+$/);
    await session.unsafe("EXPLAIN SELECT v FROM t WHERE id = 4");
    assert.equal(await explainedPlanId(session, fn), byIndex, "same shape, other constant: same planid");
    await session.unsafe("EXPLAIN SELECT v FROM t WHERE v = 'x'");
    assert.notEqual(await explainedPlanId(session, fn), byIndex, "a sequential scan is another plan");
  });

  await t.step(
    "an extension without the function (an older version) is absent, with the reason",
    async () => {
      await admin.unsafe(`ALTER EXTENSION pg_querylens DROP FUNCTION ${EXPLAIN_PLANID_FUNCTION}()`);
      await admin.unsafe(`DROP FUNCTION ${EXPLAIN_PLANID_FUNCTION}()`);
      const link = await probePlanIdLink(admin, await probeCapabilities(admin));
      assert.equal(link.kind, "absent");
      assert.match(
        link.kind === "absent" ? link.reason : "",
        /^extension pg_querylens \S+ has no function pg_querylens_explain_planid\(\)$/,
      );
    },
  );
});
