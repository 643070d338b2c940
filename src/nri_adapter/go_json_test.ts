import assert from "node:assert/strict";
import { compareGoKeys, goFormatNumber, GoJsonError, goJsonStringify, goQuote } from "./go_json.ts";

// Expected texts below are what Go 1.26's encoding/json.Marshal writes for the same values.

Deno.test("go_json: numbers are formatted as Go's float64 encoder formats them", () => {
  const values = [
    0,
    -0,
    1,
    -1,
    0.1,
    1e-6,
    1e-7,
    9.99e-7,
    1e20,
    1e21,
    1.5e21,
    123456789012345680000,
    5e-324,
    1.7976931348623157e308,
    9007199254740992,
    0.30000000000000004,
    -1.5e-10,
    1e100,
    12.482,
    1e-5,
    0.000001234,
    2.5e-8,
    4096,
    -9223372036854776000,
    1e-100,
    123e-20,
  ];
  assert.equal(
    goJsonStringify(values),
    "[0,-0,1,-1,0.1,0.000001,1e-7,9.99e-7,100000000000000000000,1e+21,1.5e+21,123456789012345680000," +
      "5e-324,1.7976931348623157e+308,9007199254740992,0.30000000000000004,-1.5e-10,1e+100,12.482,0.00001," +
      "0.000001234,2.5e-8,4096,-9223372036854776000,1e-100,1.23e-18]",
  );
});

Deno.test("go_json: non-finite numbers are refused with the path of the value", () => {
  assert.throws(() => goFormatNumber(NaN), RangeError);
  assert.throws(() => goJsonStringify({ data: [{ x: Infinity }] }), (e: unknown) => {
    assert.ok(e instanceof GoJsonError);
    assert.equal(e.path, "$.data[0].x");
    assert.match(e.message, /unsupported value: Infinity at \$\.data\[0\]\.x/);
    return true;
  });
  assert.throws(() => goJsonStringify(new Map([["k", NaN]])), /unsupported value: NaN at \$\.k/);
});

Deno.test("go_json: unsupported JavaScript values are refused, not turned into null", () => {
  const bad = { a: undefined } as unknown as Record<string, never>;
  assert.throws(() => goJsonStringify(bad), /unsupported type: undefined at \$\.a/);
  assert.throws(() => goJsonStringify([1n] as unknown as number[]), /unsupported type: bigint at \$\[0\]/);
});

Deno.test("go_json: strings are escaped like Go's HTML-safe encoder", () => {
  const strings = [
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1f \x7f",
    '<a href="x">&amp;</a>',
    "line\u2028sep\u2029",
    "café 🐘 ä \\ /",
    "\ufffd",
  ];
  assert.equal(
    goJsonStringify(strings),
    '["\\u0000\\u0001\\u0007\\b\\t\\n\\u000b\\f\\r\\u001f \x7f",' +
      '"\\u003ca href=\\"x\\"\\u003e\\u0026amp;\\u003c/a\\u003e",' +
      '"line\\u2028sep\\u2029",' +
      '"café 🐘 ä \\\\ /",' +
      '"\ufffd"]',
  );
});

Deno.test("go_json: a lone surrogate becomes \\ufffd, a pair is kept", () => {
  assert.equal(goQuote("a\ud83dz"), '"a\\ufffdz"');
  assert.equal(goQuote("\udc00"), '"\\ufffd"');
  assert.equal(goQuote("🐘"), '"🐘"');
});

Deno.test("go_json: a Map is a Go map (keys in UTF-8 byte order), an object keeps its order", () => {
  const map = new Map<string, number>([
    ["z", 1],
    ["Z", 2],
    ["a", 3],
    ["é", 4],
    ["\uffff", 5],
    ["😀", 6],
    ["_", 7],
    ["a.b", 8],
    ["a_b", 9],
    ["", 10],
    ["ab", 11],
  ]);
  assert.equal(
    goJsonStringify(map),
    '{"":10,"Z":2,"_":7,"a":3,"a.b":8,"a_b":9,"ab":11,"z":1,"é":4,"\uffff":5,"😀":6}',
  );
  assert.equal(goJsonStringify({ z: 1, a: 2, m: 3 }), '{"z":1,"a":2,"m":3}');
  // Integer-like keys would be reordered by a plain object; a Map sorts them as strings.
  assert.equal(goJsonStringify(new Map([["10", 1], ["9", 2], ["1", 3]])), '{"1":3,"10":1,"9":2}');
});

Deno.test("go_json: map keys are escaped like values", () => {
  assert.equal(goJsonStringify(new Map([["<k>", "&"]])), '{"\\u003ck\\u003e":"\\u0026"}');
});

Deno.test("go_json: compareGoKeys orders by code point, unlike UTF-16 comparison", () => {
  assert.ok("😀" < "\uffff", "UTF-16 order puts the surrogate pair first");
  assert.ok(compareGoKeys("😀", "\uffff") > 0);
  assert.ok(compareGoKeys("a", "ab") < 0);
  assert.equal(compareGoKeys("same", "same"), 0);
  assert.ok(compareGoKeys("\ud83d\ude00", "\ud83d\ude01") < 0);
});

Deno.test("go_json: indentation matches json.Indent with a tab", () => {
  const value = { a: [], b: new Map(), c: [1, { d: [] }], e: "x" };
  assert.equal(
    goJsonStringify(value, "\t"),
    '{\n\t"a": [],\n\t"b": {},\n\t"c": [\n\t\t1,\n\t\t{\n\t\t\t"d": []\n\t\t}\n\t],\n\t"e": "x"\n}',
  );
});

Deno.test("go_json: scalars and null", () => {
  assert.equal(goJsonStringify(null), "null");
  assert.equal(goJsonStringify(true), "true");
  assert.equal(goJsonStringify(false), "false");
  assert.equal(goJsonStringify("x"), '"x"');
  assert.equal(goJsonStringify([null, [], {}]), "[null,[],{}]");
});
