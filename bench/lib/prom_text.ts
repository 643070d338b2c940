/**
 * Reading a Prometheus text exposition (format 0.0.4), as an exporter's `/metrics` returns it: one
 * series per line, `name{label="value",...} value [timestamp]`, with `#` lines for help and type.
 *
 * @module
 */

/** One series of a scrape. */
export interface Series {
  /** Metric name. */
  name: string;
  /** Label names and (unescaped) values. */
  labels: Record<string, string>;
  /** Sample value (NaN and ±Inf included). */
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(raw: string, line: string): number {
  switch (raw) {
    case "NaN":
      return NaN;
    case "+Inf":
    case "Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
  }
  const value = Number(raw);
  if (raw === "" || Number.isNaN(value)) throw new Error(`bad sample value "${raw}" in line: ${line}`);
  return value;
}

/** Parses `{a="x",b="y"}` at the start of `text`; returns the labels and the rest of the text. */
function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // past "{"
  const fail = (what: string): never => {
    throw new Error(`${what} at column ${i} of line: ${line}`);
  };
  while (true) {
    while (text[i] === " ") i++;
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const name = LABEL_NAME.exec(text.slice(i))?.[0] ?? fail("label name expected");
    i += name.length;
    if (text[i] !== "=" || text[i + 1] !== '"') fail(`'="' expected after label ${name}`);
    i += 2;
    let value = "";
    while (text[i] !== '"') {
      if (i >= text.length) fail(`unterminated value of label ${name}`);
      if (text[i] === "\\") {
        const next = text[i + 1];
        value += next === "n" ? "\n" : next;
        i += 2;
      } else {
        value += text[i++];
      }
    }
    i++;
    labels[name] = value;
    while (text[i] === " ") i++;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") fail(`',' or '}' expected after label ${name}`);
  }
}

/**
 * The series of a text exposition, in order. Blank and `#` lines are skipped; timestamps are
 * dropped.
 *
 * @throws Error naming the line when one is not a series line.
 */
export function parsePromText(text: string): Series[] {
  const out: Series[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`metric name expected in line: ${line}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
    const fields = rest.trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2 || fields[0] === "") {
      throw new Error(`"value [timestamp]" expected after the labels in line: ${line}`);
    }
    out.push({ name, labels, value: parseValue(fields[0], line) });
  }
  return out;
}

/** Series counts per name prefix: each series counts for the first prefix its name starts with, else `other`. */
export function countByPrefix(series: readonly Series[], prefixes: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>([...prefixes, "other"].map((p) => [p, 0]));
  for (const s of series) {
    const key = prefixes.find((p) => s.name.startsWith(p)) ?? "other";
    counts.set(key, counts.get(key)! + 1);
  }
  return counts;
}

/** The number of distinct combinations of `labelNames` among the series whose name starts with `prefix`. */
export function distinctLabelSets(
  series: readonly Series[],
  prefix: string,
  labelNames: readonly string[],
): number {
  const seen = new Set<string>();
  for (const s of series) {
    if (s.name.startsWith(prefix)) seen.add(JSON.stringify(labelNames.map((l) => s.labels[l] ?? null)));
  }
  return seen.size;
}
