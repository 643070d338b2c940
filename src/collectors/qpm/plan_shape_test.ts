import assert from "node:assert/strict";
import { type ExplainNode, flattenPlan, planShapeId } from "./plan_shape.ts";

const indexPlan = (cost: number, rows: number): ExplainNode => ({
  "Node Type": "Aggregate",
  "Strategy": "Plain",
  "Startup Cost": cost,
  "Total Cost": cost + 1,
  "Plan Rows": rows,
  "Plan Width": 8,
  Plans: [{
    "Node Type": "Index Scan",
    "Parent Relationship": "Outer",
    "Scan Direction": "Forward",
    "Index Name": "orders_customer_idx",
    "Relation Name": "orders",
    "Alias": "o",
    "Startup Cost": 0.29,
    "Total Cost": 8.31 * rows,
    "Plan Rows": rows,
    "Plan Width": 64,
    "Index Cond": `(customer_id = ${rows})`,
  }],
});

Deno.test("plan id ignores costs, estimates and constants", () => {
  assert.equal(planShapeId(indexPlan(1, 5)), planShapeId(indexPlan(900, 77)));
  assert.match(planShapeId(indexPlan(1, 5)), /^-?\d+$/);
});

Deno.test("plan id changes with the shape", () => {
  const seq = indexPlan(1, 5);
  seq.Plans = [{
    "Node Type": "Seq Scan",
    "Relation Name": "orders",
    "Alias": "o",
    "Parent Relationship": "Outer",
  }];
  assert.notEqual(planShapeId(seq), planShapeId(indexPlan(1, 5)));
  const other = indexPlan(1, 5);
  other.Plans![0]["Index Name"] = "orders_pkey";
  assert.notEqual(planShapeId(other), planShapeId(indexPlan(1, 5)));
});

Deno.test("flattening is pre-order with level ids and defaults for absent keys", () => {
  const nodes = flattenPlan(indexPlan(1, 5), { databaseName: "shop", queryId: "-1", planId: "7" });
  assert.equal(nodes.length, 2);
  assert.deepEqual(nodes.map((n) => [n.levelId, n.nodeType]), [[0, "Aggregate"], [1, "Index Scan"]]);
  assert.equal(nodes[0].indexName, "");
  assert.equal(nodes[0].scanDirection, "");
  assert.equal(nodes[0].asyncCapable, 0);
  assert.equal(nodes[1].indexName, "orders_customer_idx");
  assert.equal(nodes[1].rowsRemovedByFilter, 0);
  assert.equal(nodes[1].planId, "7");
});
