import assert from "node:assert/strict";
import { instructionsPerNs, overheadNsPerTransaction, rotation, spread } from "./overhead_math.ts";

Deno.test("rotation gives every item every position once over as many rounds as items", () => {
  const items = ["a", "b", "c"];
  const rounds = [0, 1, 2].map((r) => rotation(items, r));
  assert.deepEqual(rounds, [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]);
  assert.deepEqual(rotation(items, 4), ["b", "c", "a"]);
  assert.deepEqual(items, ["a", "b", "c"], "the input is not reordered");
  assert.deepEqual(rotation([], 3), []);
  assert.throws(() => rotation(items, -1), /round must be a non-negative integer: -1/);
});

Deno.test("spread is the smallest and largest sample", () => {
  assert.deepEqual(spread([5, 2, 9, 4]), { min: 2, max: 9 });
  assert.throws(() => spread([]), /no samples/);
});

Deno.test("overheadNsPerTransaction converts a throughput drop into time per transaction", () => {
  // 2 busy cores: 50,000 TPS is 40 µs of CPU per transaction, 40,000 TPS is 50 µs.
  assert.equal(Math.round(overheadNsPerTransaction(40_000, 50_000, 2)), 10_000);
  // One core: 100,000 → 99,000 TPS is 10 µs → 10.101 µs.
  assert.equal(Math.round(overheadNsPerTransaction(99_000, 100_000, 1)), 101);
  assert.ok(overheadNsPerTransaction(51_000, 50_000, 2) < 0, "faster than the baseline is negative");
  assert.throws(() => overheadNsPerTransaction(0, 50_000, 2), /throughputs must be positive/);
  assert.throws(() => overheadNsPerTransaction(1, 1, 0), /busyCores must be a positive integer/);
});

Deno.test("instructionsPerNs divides, and is undefined without a positive time", () => {
  assert.equal(instructionsPerNs(100_000, 12_500), 8);
  assert.equal(instructionsPerNs(100_000, 0), undefined);
  assert.equal(instructionsPerNs(100_000, -3), undefined);
  assert.equal(instructionsPerNs(NaN, 5), undefined);
});
