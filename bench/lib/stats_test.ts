import assert from "node:assert/strict";
import { median, ratio } from "./stats.ts";

Deno.test("median of an odd count is the middle sample whatever the order", () => {
  assert.equal(median([9, 1, 5]), 5);
  assert.equal(median([7]), 7);
});

Deno.test("median of an even count is the mean of the middle two", () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

Deno.test("median does not reorder its input", () => {
  const samples = [3, 1, 2];
  median(samples);
  assert.deepEqual(samples, [3, 1, 2]);
});

Deno.test("median rejects empty and non-finite samples", () => {
  assert.throws(() => median([]), /no samples/);
  assert.throws(() => median([1, NaN]), /NaN is not a finite number/);
});

Deno.test("ratio divides, and is undefined against a zero baseline", () => {
  assert.equal(ratio(3, 4), 0.75);
  assert.equal(ratio(3, 0), undefined);
  assert.equal(ratio(Infinity, 2), undefined);
});
