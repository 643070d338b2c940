import assert from "node:assert/strict";
import * as moved from "../plan_capture/capture.ts";
import * as here from "./plan_capture.ts";

Deno.test("the QPM path re-exports plan capture itself, not a copy", () => {
  assert.equal(here.PlanCapture, moved.PlanCapture);
  assert.equal(here.runExplain, moved.runExplain);
  assert.equal(here.explainPlan, moved.explainPlan);
  assert.deepEqual(Object.keys(here).sort(), ["PlanCapture", "explainPlan", "runExplain"]);
});
