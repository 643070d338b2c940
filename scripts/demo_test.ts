/**
 * The main job without a configured server prints documents of all five QPM types (the README's
 * promise), and with a server configured it passes the arguments through to the collector.
 */
import assert from "node:assert/strict";
import { assertValidDocuments } from "../tests/support/schema.ts";
import { metricSetsByType } from "../tests/support/collector.ts";
import { repoRoot } from "../tests/support/servers.ts";
import { serverConfigured } from "./demo.ts";

Deno.test("a server counts as configured by flag, config file or environment", () => {
  const none = () => undefined;
  assert.equal(serverConfigured([], none), false);
  assert.equal(serverConfigured(["-pretty"], none), false);
  assert.equal(serverConfigured(["-hostname=db1"], none), true);
  assert.equal(serverConfigured(["--config", "x.toml"], none), true);
  assert.equal(serverConfigured([], (n) => (n === "HOSTNAME" ? "db1" : undefined)), true);
});

Deno.test("the demo prints all five QPM event types from an embedded server", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "scripts/demo.ts"],
    cwd: repoRoot(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assertValidDocuments(stdout);
  const types = metricSetsByType(stdout);
  for (
    const t of [
      "PostgresSlowQueries",
      "PostgresWaitEvents",
      "PostgresBlockingSessions",
      "PostgresIndividualQueries",
      "PostgresExecutionPlanMetrics",
    ]
  ) assert.ok(types.get(t)?.length, `missing ${t}`);
});
