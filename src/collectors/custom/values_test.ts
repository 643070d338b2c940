import assert from "node:assert/strict";
import {
  attributeText,
  countProblem,
  describeValue,
  metricNumber,
  NUMERIC_TYPE_OIDS,
  type ProblemCounts,
  resultColumns,
  SOURCE_TYPES,
  sourceTypeOf,
} from "./values.ts";

Deno.test("sourceTypeOf: the six names in any case, nothing else", () => {
  assert.deepEqual(SOURCE_TYPES, ["gauge", "rate", "delta", "prate", "pdelta", "attribute"]);
  for (const t of SOURCE_TYPES) {
    assert.equal(sourceTypeOf(t), t);
    assert.equal(sourceTypeOf(t.toUpperCase()), t);
  }
  assert.equal(sourceTypeOf("Gauge"), "gauge");
  for (const bad of ["", "gaug", "counter", " gauge", "gauge ", "histogram"]) {
    assert.equal(sourceTypeOf(bad), undefined);
  }
});

Deno.test("NUMERIC_TYPE_OIDS: int2, int4, int8, float4, float8, numeric, oid", () => {
  assert.deepEqual([...NUMERIC_TYPE_OIDS].sort((a, b) => a - b), [20, 21, 23, 26, 700, 701, 1700]);
  for (const other of [16, 25, 1043, 1082, 1114, 1184, 114, 3802, 17, 1186]) {
    assert.ok(!NUMERIC_TYPE_OIDS.has(other));
  }
});

Deno.test("metricNumber: numbers, decimal text, bigints and booleans; nothing non-finite", () => {
  const ok: [unknown, number][] = [
    [42, 42],
    [-1.5, -1.5],
    ["9007199254740993", 9007199254740992],
    [" 12.50 ", 12.5],
    ["1e3", 1000],
    [".5", 0.5],
    [12n, 12],
    [true, 1],
    [false, 0],
  ];
  for (const [input, expected] of ok) {
    assert.deepEqual(metricNumber(input), { value: expected }, String(input));
  }
  const bad: [unknown, string][] = [
    [NaN, "not a finite number: NaN"],
    [Infinity, "not a finite number: Infinity"],
    ["NaN", 'not a finite number: "NaN"'],
    ["-Infinity", 'not a finite number: "-Infinity"'],
    ["abc", 'not a number: "abc"'],
    ["", 'not a number: ""'],
    ["1,5", 'not a number: "1,5"'],
    [new Date(0), "not a number: 1970-01-01T00:00:00.000Z"],
    [{ a: 1 }, "not a number: [object Object]"],
  ];
  for (const [input, problem] of bad) assert.deepEqual(metricNumber(input), { problem }, String(input));
});

Deno.test("attributeText: text forms of every driver value", () => {
  assert.deepEqual(attributeText("x", 25), { value: "x" });
  assert.deepEqual(attributeText("", 25), { value: "" });
  assert.deepEqual(attributeText(true, 16), { value: "true" });
  assert.deepEqual(attributeText(false, 16), { value: "false" });
  assert.deepEqual(attributeText(1.25, 701), { value: "1.25" });
  assert.deepEqual(attributeText(7n, 20), { value: "7" });
  assert.deepEqual(attributeText(new TextEncoder().encode("héllo"), 17), { value: "héllo" });
  assert.deepEqual(attributeText({ a: [1, "b"] }, 3802), { value: '{"a":[1,"b"]}' });
  assert.deepEqual(attributeText([1, 2], 114), { value: "[1,2]" });
});

Deno.test("attributeText: dates as the driver builds them keep their SQL value", () => {
  // The driver does `new Date(text)` on the server's text for all three types.
  assert.deepEqual(attributeText(new Date("2024-02-29"), 1082), { value: "2024-02-29" });
  assert.deepEqual(attributeText(new Date("2024-02-29 23:59:58.125"), 1114), {
    value: "2024-02-29T23:59:58.125",
  });
  assert.deepEqual(attributeText(new Date("2024-02-29 23:59:58"), 1114), {
    value: "2024-02-29T23:59:58.000",
  });
  assert.deepEqual(attributeText(new Date("2024-02-29 23:59:58.5+02"), 1184), {
    value: "2024-02-29T21:59:58.500Z",
  });
  const infinite = attributeText(new Date("infinity"), 1184);
  assert.ok(
    "problem" in infinite && infinite.problem.includes("not a finite date"),
    JSON.stringify(infinite),
  );
});

Deno.test("resultColumns: the driver's column descriptions in order, each name once", () => {
  const rows = Object.assign([{ a: 1, b: "x" }], {
    columns: [{ name: "b", type: 25 }, { name: "a", type: 23 }, { name: "b", type: 23 }],
  });
  assert.deepEqual(resultColumns(rows), [{ name: "b", type: 25 }, { name: "a", type: 23 }]);
  const none = Object.assign([], { columns: [{ name: "n", type: 20 }] });
  assert.deepEqual(resultColumns(none), [{ name: "n", type: 20 }], "columns are known without rows");
});

Deno.test("resultColumns: without descriptions, the first row's keys with type 0", () => {
  assert.deepEqual(resultColumns([{ z: 1, y: 2 }, { q: 3 }]), [{ name: "z", type: 0 }, {
    name: "y",
    type: 0,
  }]);
  assert.deepEqual(resultColumns([]), []);
});

Deno.test("countProblem: counts per key and keeps the first detail", () => {
  const counts: ProblemCounts = new Map();
  countProblem(counts, "a", "first a");
  countProblem(counts, "b", "first b");
  countProblem(counts, "a", "second a");
  assert.deepEqual([...counts], [["a", { count: 2, first: "first a" }], ["b", {
    count: 1,
    first: "first b",
  }]]);
});

Deno.test("describeValue: short, quoted text; dates, bytes and objects named", () => {
  assert.equal(describeValue("x".repeat(70)), JSON.stringify(`${"x".repeat(60)}…`));
  assert.equal(describeValue(null), "null");
  assert.equal(describeValue(new Date("x")), "an invalid date");
  assert.equal(describeValue(new Uint8Array(3)), "3 bytes");
});
