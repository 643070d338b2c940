import assert from "node:assert/strict";
import type { OtelFamily } from "./metric_catalog.ts";
import { createSeriesState } from "./metrics.ts";
import { accumulatedPoint, counterPoint, familyValue, msToNs } from "./series_points.ts";

const SUM: OtelFamily = {
  name: "test.sum",
  unit: "{call}",
  kind: "sum",
  valueType: "int",
  description: "A test sum.",
  contrib: false,
  monotonic: true,
} as OtelFamily;
const FLOAT: OtelFamily = { ...SUM, name: "test.seconds", unit: "s", valueType: "double" } as OtelFamily;

Deno.test("familyValue: ints become bigints, doubles stay numbers", () => {
  assert.equal(familyValue(SUM, 2.6), 3n);
  assert.equal(familyValue(FLOAT, 2.5), 2.5);
});

Deno.test("accumulatedPoint: cumulative keeps the first start and adds increments; delta gives each", () => {
  const state = createSeriesState();
  const cum = { state, temporality: "cumulative" as const, nowNs: 100n };
  assert.deepEqual(accumulatedPoint("t", SUM, { a: "x" }, 3, 50n, cum).point, {
    attributes: { a: "x" },
    startTimeUnixNano: 50n,
    timeUnixNano: 100n,
    value: 3n,
  });
  const second = accumulatedPoint("t", SUM, { a: "x" }, 4, 100n, { ...cum, nowNs: 200n }).point;
  assert.equal(second.startTimeUnixNano, 50n);
  assert.equal(second.value, 7n);
  const delta = accumulatedPoint("t", SUM, { a: "x" }, 5, 200n, { state, temporality: "delta", nowNs: 300n });
  assert.equal(delta.point.startTimeUnixNano, 200n);
  assert.equal(delta.point.value, 5n);
  // An interval that does not join the previous one covers itself only.
  const alone = accumulatedPoint("t", SUM, { a: "x" }, 2, 350n, { ...cum, nowNs: 400n }, false).point;
  assert.equal(alone.startTimeUnixNano, 350n);
  assert.equal(alone.value, 2n);
  // A window starting after the point's time starts at the point's time.
  const late = accumulatedPoint("t", SUM, { a: "y" }, 1, 900n, { ...cum, nowNs: 500n }).point;
  assert.equal(late.startTimeUnixNano, 500n);
});

Deno.test("counterPoint: a counter started after the snapshot's time starts at that time; resets restart", () => {
  const state = createSeriesState();
  const o = { state, temporality: "cumulative" as const, nowNs: 1_000n };
  const first = counterPoint("t", SUM, {}, 10, 1_200n, o).point;
  assert.equal(first.startTimeUnixNano, 1_000n, "never after the point's time");
  assert.ok(first.startTimeUnixNano <= first.timeUnixNano);
  const d = { state, temporality: "delta" as const, nowNs: 2_000n };
  const second = counterPoint("t", SUM, {}, 25, 1_200n, d).point;
  assert.equal(second.value, 15n, "continued: the delta since the previous point");
  assert.equal(second.startTimeUnixNano, 1_000n);
  const reset = counterPoint("t", SUM, {}, 4, 1_900n, { ...d, nowNs: 3_000n }).point;
  assert.equal(reset.value, 4n, "a new start: the whole value");
  assert.equal(reset.startTimeUnixNano, 1_900n);
});

Deno.test("msToNs rounds to whole milliseconds and scales to nanoseconds", () => {
  assert.equal(msToNs(0), 0n);
  assert.equal(msToNs(1.4), 1_000_000n);
  assert.equal(msToNs(2.5), 3_000_000n);
  assert.equal(msToNs(1_700_000_000_000), 1_700_000_000_000_000_000n);
});
