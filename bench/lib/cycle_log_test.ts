import assert from "node:assert/strict";
import { createLogger } from "../../src/core/log.ts";
import { cycleDurationsMs } from "./cycle_log.ts";

Deno.test("cycleDurationsMs reads the cycle lines the collector's logger writes, in order", () => {
  const lines: string[] = [];
  const logger = createLogger("debug", (l) => lines.push(l));
  logger.log("info", "starting");
  logger.log("debug", "cycle took 1412 ms");
  logger.log("warn", "qpm: cycle took 5 ms is not a cycle line");
  logger.log("debug", "cycle took 987 ms");
  assert.deepEqual(cycleDurationsMs(lines.join("\n") + "\n"), [1412, 987]);
});

Deno.test("cycleDurationsMs finds nothing without debug logging", () => {
  const lines: string[] = [];
  const logger = createLogger("info", (l) => lines.push(l));
  logger.log("debug", "cycle took 12 ms");
  assert.deepEqual(cycleDurationsMs(lines.join("\n")), []);
});
