import assert from "node:assert/strict";
import { formatSpread, medianRatio, spread } from "./spread.ts";

Deno.test("spread gives the median with the smallest and largest sample", () => {
  assert.deepEqual(spread([30, 10, 20]), { median: 20, min: 10, max: 30 });
  assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
  assert.deepEqual(spread([7]), { median: 7, min: 7, max: 7 });
});

Deno.test("spread refuses no samples and samples that are not finite", () => {
  assert.throws(() => spread([]), /median of no samples/);
  assert.throws(() => spread([1, NaN]), /sample NaN is not a finite number/);
});

Deno.test("formatSpread prints median (min–max) with the wanted decimals", () => {
  assert.equal(formatSpread({ median: 20.26, min: 10.04, max: 30.5 }), "20 (10–31)");
  assert.equal(formatSpread({ median: 20.26, min: 10.04, max: 30.5 }, 1), "20.3 (10.0–30.5)");
});

Deno.test("medianRatio divides round by round, so a drift shared by both sides cancels", () => {
  // The machine gets twice as slow each round; the value stays 3x its baseline.
  assert.equal(medianRatio([3, 6, 12, 24], [1, 2, 4, 8]), 3);
  assert.equal(medianRatio([2, 9, 4], [1, 3, 1]), 3);
});

Deno.test("medianRatio refuses lists of different lengths and zero baselines", () => {
  assert.throws(() => medianRatio([1, 2], [1]), /2 values but 1 baselines/);
  assert.throws(() => medianRatio([], []), /median of no samples/);
  assert.throws(() => medianRatio([1], [0]), /sample Infinity is not a finite number/);
});
