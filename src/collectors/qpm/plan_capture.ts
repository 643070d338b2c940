/**
 * Plan capture for QPM: {@link PlanCapture} and its EXPLAIN runner live in
 * `src/collectors/plan_capture/capture.ts`, shared with plan tracking; they are re-exported here for
 * the QPM collectors.
 *
 * @module
 */

export {
  type ExplainedPlan,
  type ExplainOptions,
  explainPlan,
  PlanCapture,
  type PlanResult,
  runExplain,
} from "../plan_capture/capture.ts";
