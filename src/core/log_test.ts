import assert from "node:assert/strict";
import { createLogger, explainPermission, IssueReporter } from "./log.ts";

Deno.test("issues are logged once per cause and counted every time", () => {
  const lines: string[] = [];
  const reporter = new IssueReporter(createLogger("info", (l) => lines.push(l)));
  const issue = { component: "qpm", cause: "x", severity: "warning" as const, message: "missing x" };
  reporter.report(issue);
  reporter.report(issue);
  reporter.report({ ...issue, cause: "y", message: "missing y" });
  reporter.report({ ...issue, cause: "z", severity: "debug", message: "quiet" });
  assert.deepEqual(lines, ["[WARN] qpm: missing x", "[WARN] qpm: missing y"]);
  assert.equal(reporter.counts().get("qpm"), 4);
});

Deno.test("the level filter drops more verbose messages", () => {
  const lines: string[] = [];
  const log = createLogger("warn", (l) => lines.push(l));
  log.log("debug", "a");
  log.log("info", "b");
  log.log("error", "c");
  assert.deepEqual(lines, ["[ERROR] c"]);
});

Deno.test("a refused permission is explained as the permission set's, not as a flag to add", () => {
  const lines: string[] = [];
  const logger = createLogger("info", (l) => lines.push(l));
  // The runtime's message for a refused connection (Deno 2.9).
  const refused = 'Requires net access to "127.0.0.1:9", run again with the --allow-net flag';
  logger.log("error", `connection: ${refused}`);
  assert.deepEqual(lines, [
    '[ERROR] connection: Requires net access to "127.0.0.1:9" (refused: the collector\'s permission set does ' +
    "not grant this net access)",
  ]);
  assert.equal(explainPermission("no permission here"), "no permission here");
});
