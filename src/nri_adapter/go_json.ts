/**
 * JSON text byte-identical to Go's `encoding/json` (`json.Marshal`, and `json.Indent` for pretty
 * output), which is what the infrastructure SDK writes.
 *
 * Differences from `JSON.stringify` that matter for that:
 * - a `Map` is a Go map: its keys are written sorted by byte order of their UTF-8 encoding, while a
 *   plain object is a Go struct: its keys keep their insertion order;
 * - strings are HTML-escaped (`<`, `>`, `&` become `\u003c`, `\u003e`, `\u0026`) and U+2028/U+2029
 *   become `\u2028`/`\u2029`; a lone surrogate (never valid UTF-8) becomes `\ufffd`, as Go writes for
 *   invalid bytes;
 * - negative zero is written `-0`;
 * - a non-finite number, `undefined`, a function, a symbol or a bigint is an error (Go refuses
 *   NaN and infinities), never a silent `null`.
 *
 * Numbers otherwise match already: both languages print the shortest decimal that reads back as
 * the same float64, switch to exponent form below 1e-6 and from 1e21 on, and write exponents as
 * `e+21` / `e-7` (Go trims the `e-07` that `strconv` would give).
 *
 * @module
 */

/** A value the encoder accepts: a `Map` encodes as a Go map (sorted keys), an object as a struct. */
export type GoJsonValue =
  | null
  | boolean
  | number
  | string
  | readonly GoJsonValue[]
  | ReadonlyMap<string, GoJsonValue>
  | { readonly [key: string]: GoJsonValue };

/** Thrown for a value Go's encoder would refuse; the message names where it was found. */
export class GoJsonError extends Error {
  /** Path of the offending value, e.g. `$.data[0].metrics[3].x`. */
  readonly path: string;
  /**
   * @param message what is wrong
   * @param path where the value was found
   */
  constructor(message: string, path: string) {
    super(`${message} at ${path}`);
    this.name = "GoJsonError";
    this.path = path;
  }
}

/**
 * Encodes `value` as Go would. With `indent` (e.g. `"\t"`) the text is laid out like
 * `json.Indent(dst, src, "", indent)`: one member per line, `": "` after keys, and empty arrays
 * and objects kept as `[]` and `{}`.
 */
export function goJsonStringify(value: GoJsonValue, indent = ""): string {
  const out: string[] = [];
  write(value, out, indent, 0);
  return out.join("");
}

/** Characters {@link goQuote} must escape; a string without any is quoted as it is. */
// deno-lint-ignore no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\<>&\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/** Characters whose order in UTF-16 differs from their UTF-8 byte order (surrogates). */
const SURROGATE = /[\ud800-\udfff]/;

/** Go's `strconv.Quote`-like JSON string literal as written by `encoding/json` with HTML escaping. */
export function goQuote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20) esc = SHORT_ESCAPES[c] ?? `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
    else if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = "\\\\";
    else if (c === 0x3c) esc = "\\u003c";
    else if (c === 0x3e) esc = "\\u003e";
    else if (c === 0x26) esc = "\\u0026";
    else if (c === 0x2028) esc = "\\u2028";
    else if (c === 0x2029) esc = "\\u2029";
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair: copied as is
        continue;
      }
      esc = "\\ufffd";
    }
    if (esc === undefined) continue;
    out += s.slice(start, i) + esc;
    start = i + 1;
  }
  return out + s.slice(start) + '"';
}

/** Formats a finite number as Go's float64 encoder does; throws a `RangeError` for NaN/±Infinity. */
export function goFormatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`json: unsupported value: ${n}`);
  if (Object.is(n, -0)) return "-0";
  return String(n);
}

/**
 * Orders strings as Go orders map keys: by the bytes of their UTF-8 encoding, which is code point
 * order (plain `<` on JS strings compares UTF-16 units and differs for characters above U+FFFF).
 */
export function compareGoKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const surrogateX = x >= 0xd800 && x <= 0xdfff;
    const surrogateY = y >= 0xd800 && y <= 0xdfff;
    if (surrogateX !== surrogateY) return surrogateX ? 1 : -1; // a pair encodes a code point above U+FFFF
    return x - y;
  }
  return a.length - b.length;
}

const HEX = "0123456789abcdef";
const SHORT_ESCAPES: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" };

/**
 * Writes `value`. The path of an offending value is built only when one is found: each level adds
 * its segment to the error on the way out, so encoding pays nothing for it.
 */
function write(value: GoJsonValue, out: string[], indent: string, depth: number): void {
  if (value === null) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value)) throw new GoJsonError(`json: unsupported value: ${value}`, "$");
      out.push(goFormatNumber(value));
      return;
    case "string":
      out.push(goQuote(value));
      return;
    case "object":
      break;
    default:
      throw new GoJsonError(`json: unsupported type: ${typeof value}`, "$");
  }
  if (Array.isArray(value)) {
    const items = value as readonly GoJsonValue[];
    writeMembers(items.length, "[", "]", out, indent, depth, (i) => {
      within(`[${i}]`, () => write(items[i], out, indent, depth + 1));
    });
    return;
  }
  let entries: [string, GoJsonValue][];
  if (value instanceof Map) {
    entries = [...(value as ReadonlyMap<string, GoJsonValue>).entries()];
    // Plain string order is UTF-8 byte order unless a key holds a surrogate pair.
    if (entries.some(([k]) => typeof k === "string" && SURROGATE.test(k))) {
      entries.sort((a, b) => compareGoKeys(a[0], b[0]));
    } else {
      entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    }
  } else {
    entries = Object.entries(value as { readonly [key: string]: GoJsonValue });
  }
  writeMembers(entries.length, "{", "}", out, indent, depth, (i) => {
    const [key, member] = entries[i];
    if (typeof key !== "string") throw new GoJsonError("json: map key is not a string", "$");
    out.push(goQuote(key), indent ? ": " : ":");
    within(`.${key}`, () => write(member, out, indent, depth + 1));
  });
}

/** Runs `fn`; a {@link GoJsonError} from it comes out with `segment` inserted after its `$`. */
function within(segment: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof GoJsonError)) throw e;
    const path = `$${segment}${e.path.slice(1)}`;
    throw new GoJsonError(e.message.slice(0, e.message.length - e.path.length - 4), path);
  }
}

function writeMembers(
  count: number,
  open: string,
  close: string,
  out: string[],
  indent: string,
  depth: number,
  member: (i: number) => void,
): void {
  out.push(open);
  if (count === 0) {
    out.push(close);
    return;
  }
  const inner = indent ? "\n" + indent.repeat(depth + 1) : "";
  for (let i = 0; i < count; i++) {
    if (i > 0) out.push(",");
    out.push(inner);
    member(i);
  }
  out.push(indent ? "\n" + indent.repeat(depth) : "", close);
}
