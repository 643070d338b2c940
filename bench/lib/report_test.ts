import assert from "node:assert/strict";
import { type BenchReport, formatRatio, formatReport, formatValue } from "./report.ts";

Deno.test("formatValue rounds by magnitude and unit", () => {
  assert.equal(formatValue(1234.56, "ms"), "1235 ms");
  assert.equal(formatValue(3.14159, "ms"), "3.1 ms");
  assert.equal(formatValue(87.25, "MiB"), "87.3 MiB");
  assert.equal(formatValue(42, "count"), "42");
  assert.equal(formatValue(10.5, "count"), "10.5");
});

Deno.test("formatRatio prints a multiplier, or - without one", () => {
  assert.equal(formatRatio(0.1234), "0.12x");
  assert.equal(formatRatio(12.34), "12.3x");
  assert.equal(formatRatio(undefined), "-");
});

Deno.test("formatReport prints an aligned table with ratios computed from value and baseline", () => {
  const report: BenchReport = {
    title: "demo",
    rows: [
      { metric: "ranking", value: 5, unit: "ms", baseline: { value: 20, label: "naive query" } },
      { metric: "statements", value: 17, unit: "count" },
      { metric: "no baseline to divide by", value: 3, unit: "ms", baseline: { value: 0, label: "zero" } },
    ],
    notes: ["two runs"],
  };
  const lines = formatReport(report).split("\n");
  assert.equal(lines[0], "demo");
  assert.equal(lines[1], "====");
  assert.match(lines[2], /^metric +\| +value \| baseline \| ratio \| baseline is$/);
  assert.match(lines[4], /^ranking +\| +5\.0 ms \| +20\.0 ms \| +0\.25x \| naive query$/);
  assert.match(lines[5], /^statements +\| +17 \| +- \| +- \|$/);
  assert.match(lines[6], /\| +- \| zero$/);
  const bars = lines.slice(2, 7).map((l) => [...l.matchAll(/\|/g)].map((m) => m.index));
  for (const b of bars) assert.deepEqual(b, bars[0], "columns are aligned");
  assert.equal(lines.at(-1), "* two runs");
});
