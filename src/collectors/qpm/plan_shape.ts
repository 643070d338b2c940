/**
 * Plan identity and flattening for EXPLAIN (FORMAT JSON) output.
 *
 * The plan id is a 64-bit FNV-1a hash of the plan's shape: node types, relations (with schema),
 * indexes, join types, aggregate strategies, set-operation and scan directions, parent
 * relationships and sub-plan names, in pre-order with explicit nesting. Costs, row estimates,
 * filters and constants are left out, so the same plan keeps the same id across cycles, restarts
 * and parameter values, and a different plan (an index dropped) gets a different id.
 *
 * @module
 */

import type { PlanNode } from "../../core/model.ts";

/** One node of EXPLAIN (FORMAT JSON) output. */
export type ExplainNode = Record<string, unknown> & { Plans?: ExplainNode[] };

const SHAPE_KEYS = [
  "Node Type",
  "Parent Relationship",
  "Subplan Name",
  "Relation Name",
  "Schema",
  "Index Name",
  "Join Type",
  "Strategy",
  "Partial Mode",
  "Operation",
  "Command",
  "Scan Direction",
  "CTE Name",
  "Function Name",
  "Parallel Aware",
  "Inner Unique",
];

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

function fnv1a64(text: string): bigint {
  let h = FNV_OFFSET;
  for (const b of new TextEncoder().encode(text)) {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & MASK64;
  }
  return h;
}

function shapeText(node: ExplainNode): string {
  const own = SHAPE_KEYS.filter((k) => node[k] !== undefined).map((k) => `${k}=${String(node[k])}`);
  const children = (node.Plans ?? []).map(shapeText);
  return `(${own.join(";")}${children.length ? "[" + children.join(",") + "]" : ""})`;
}

/** The shape hash of a plan's root node, as a signed 64-bit decimal string (like query ids). */
export function planShapeId(root: ExplainNode): string {
  return BigInt.asIntN(64, fnv1a64(shapeText(root))).toString();
}

/** The identity of the plan row that owns the nodes, copied onto each node. */
export interface PlanOwner {
  /** Database the plan belongs to. */
  databaseName: string;
  /** Query id of the planned statement. */
  queryId: string;
  /** Plan id of the owner row. */
  planId: string;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function flag(v: unknown): number {
  return v === true ? 1 : 0;
}

/** Flattens a plan into PostgresExecutionPlanMetrics rows, depth-first pre-order, root level 0. */
export function flattenPlan(root: ExplainNode, owner: PlanOwner): PlanNode[] {
  const out: PlanNode[] = [];
  const visit = (node: ExplainNode): void => {
    out.push({
      nodeType: str(node["Node Type"]),
      parallelAware: flag(node["Parallel Aware"]),
      asyncCapable: flag(node["Async Capable"]),
      scanDirection: str(node["Scan Direction"]),
      indexName: str(node["Index Name"]),
      relationName: str(node["Relation Name"]),
      alias: str(node["Alias"]),
      startupCost: num(node["Startup Cost"]),
      totalCost: num(node["Total Cost"]),
      planRows: Math.round(num(node["Plan Rows"])),
      planWidth: Math.round(num(node["Plan Width"])),
      rowsRemovedByFilter: Math.round(num(node["Rows Removed by Filter"])),
      databaseName: owner.databaseName,
      queryId: owner.queryId,
      planId: owner.planId,
      levelId: out.length,
    });
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(root);
  return out;
}
