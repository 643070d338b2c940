/**
 * Reads systemd unit files, drop-ins and environment files the way systemd does, for the checks of
 * the units under `deploy/systemd/`: sections and assignments (systemd.syntax(7)), the quoting of
 * `Environment=` and `ExecStart=` (systemd.exec(5), systemd.service(5)), and `EnvironmentFile=`
 * syntax. Only what those units use is covered; specifiers (`%n`, ...) are not expanded.
 *
 * @module
 */

/** One `Key=value` line of a unit, in file order. */
export interface Assignment {
  /** Section name, without brackets. */
  section: string;
  /** Setting name. */
  key: string;
  /** Raw value, trimmed; quoting is left to the setting. */
  value: string;
}

/** A parsed unit file, or a unit with its drop-ins applied ({@link withDropIns}). */
export interface Unit {
  /** Every assignment in order (drop-ins after the unit). */
  assignments: Assignment[];
}

/**
 * Parses unit file text: `[Section]` headers, `Key=value` lines, `#`/`;` comments, and lines
 * continued by a trailing backslash (replaced by a space; comment lines inside are skipped).
 *
 * @throws Error naming the line when it is neither a header, a comment nor an assignment inside a section
 */
export function parseUnit(text: string): Unit {
  const assignments: Assignment[] = [];
  let section: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i].trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      line = line.slice(0, -1) + " ";
      let next = lines[++i].trim();
      while ((next.startsWith("#") || next.startsWith(";")) && i + 1 < lines.length) next = lines[++i].trim();
      if (!next.startsWith("#") && !next.startsWith(";")) line += next;
    }
    if (line.startsWith("[")) {
      if (!line.endsWith("]") || line.length < 3) {
        throw new Error(`line ${lineNo}: bad section header ${line}`);
      }
      section = line.slice(1, -1);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`line ${lineNo}: expected Key=value, got ${JSON.stringify(line)}`);
    if (section === undefined) throw new Error(`line ${lineNo}: assignment outside a section`);
    assignments.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return { assignments };
}

/** The unit with drop-ins applied: their assignments come after the unit's, in the given order. */
export function withDropIns(unit: Unit, ...dropIns: Unit[]): Unit {
  return { assignments: [unit.assignments, ...dropIns.map((d) => d.assignments)].flat() };
}

/**
 * Every value assigned to `key` in `section`, in order, after resets: an empty assignment clears
 * what came before (as for list settings such as `SystemCallFilter=` or `Environment=`).
 */
export function values(unit: Unit, section: string, key: string): string[] {
  const out: string[] = [];
  for (const a of unit.assignments) {
    if (a.section !== section || a.key !== key) continue;
    if (a.value === "") out.length = 0;
    else out.push(a.value);
  }
  return out;
}

/** The last value assigned to `key` in `section` (`""` for an empty assignment), or undefined. */
export function value(unit: Unit, section: string, key: string): string | undefined {
  return unit.assignments.findLast((a) => a.section === section && a.key === key)?.value;
}

/** Whether `key` is assigned (even empty) anywhere in `section`. */
export function isSet(unit: Unit, section: string, key: string): boolean {
  return unit.assignments.some((a) => a.section === section && a.key === key);
}

/** One word of a command line or an `Environment=` value. */
export interface Word {
  /** The text with quotes and escapes removed. */
  text: string;
  /** Whether any part of it was quoted. */
  quoted: boolean;
}

const C_ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  "\\": "\\",
  '"': '"',
  "'": "'",
  " ": " ",
};

/**
 * Splits a value into words separated by whitespace; `"..."` and `'...'` quote (the quotes are
 * removed) and a backslash escapes the next character (C escapes `\n`, `\t`, `\r`).
 *
 * @throws Error on an unterminated quote or a trailing backslash
 */
export function splitWords(text: string): Word[] {
  const words: Word[] = [];
  let current: Word | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === undefined && /\s/.test(c)) {
      if (current !== undefined) words.push(current);
      current = undefined;
      continue;
    }
    current ??= { text: "", quoted: false };
    if (c === "\\") {
      const n = text[++i];
      if (n === undefined) throw new Error(`trailing backslash in ${JSON.stringify(text)}`);
      current.text += C_ESCAPES[n] ?? n;
    } else if (quote !== undefined && c === quote) {
      quote = undefined;
    } else if (quote === undefined && (c === '"' || c === "'")) {
      quote = c;
      current.quoted = true;
    } else {
      current.text += c;
    }
  }
  if (quote !== undefined) throw new Error(`unterminated ${quote} in ${JSON.stringify(text)}`);
  if (current !== undefined) words.push(current);
  return words;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The variables of `Environment=` assignments (`A=1 "B=two words"`), later ones overriding
 * earlier ones.
 *
 * @throws Error on a word that is not `NAME=value`
 */
export function environmentOf(unit: Unit, section = "Service"): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of values(unit, section, "Environment")) {
    for (const { text } of splitWords(line)) {
      const eq = text.indexOf("=");
      const name = text.slice(0, Math.max(eq, 0));
      if (eq <= 0 || !NAME.test(name)) throw new Error(`Environment=: not an assignment: ${text}`);
      env.set(name, text.slice(eq + 1));
    }
  }
  return env;
}

/**
 * Parses the text of an `EnvironmentFile=` as systemd does: lines starting with `#` or `;` are
 * comments; `KEY=value`, with whitespace around the key and before the value ignored. Where a value
 * (or a part of it) starts, `'...'` quotes literally and `"..."` quotes with a backslash escaping
 * `"`, `\`, `` ` `` and `$` (kept before any other character); elsewhere quotes are literal, a
 * backslash escapes the next character and trailing whitespace is dropped. A backslash before a line
 * end continues the value on the next line.
 *
 * systemd drops an assignment whose key is not a variable name with a warning; this parser throws, so
 * that a file under test cannot hide one.
 *
 * @throws Error naming the line of a key that is not a valid variable name
 */
export function parseEnvFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  type State = "preKey" | "key" | "comment" | "preValue" | "value" | "single" | "double";
  let state: State = "preKey";
  let key = "";
  let val = "";
  let chomp = -1; // where unquoted trailing whitespace starts in val
  let line = 1;
  let keyLine = 1;
  const push = () => {
    const name = key.trim();
    if (!NAME.test(name)) {
      throw new Error(`environment file line ${keyLine}: invalid variable name ${JSON.stringify(name)}`);
    }
    env.set(name, state === "value" && chomp >= 0 ? val.slice(0, chomp) : val);
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const newline = c === "\n" || c === "\r";
    if (c === "\n") line++;
    switch (state) {
      case "preKey":
        if (c === "#" || c === ";") state = "comment";
        else if (!/\s/.test(c)) [state, key, keyLine] = ["key", c, line];
        break;
      case "comment":
        if (newline) state = "preKey";
        break;
      case "key":
        if (newline) state = "preKey";
        else if (c === "=") [state, val, chomp] = ["preValue", "", -1];
        else key += c;
        break;
      case "preValue":
      case "value":
        if (newline) {
          push();
          state = "preKey";
        } else if (c === "\\") {
          const next = text[++i];
          if (next === "\n") line++;
          else if (next !== undefined && next !== "\r") val += next;
          [state, chomp] = ["value", -1];
        } else if (state === "preValue" && c === "'") state = "single";
        else if (state === "preValue" && c === '"') state = "double";
        else if (state === "preValue" && /[ \t]/.test(c)) continue;
        else {
          if (!/[ \t]/.test(c)) chomp = -1;
          else if (chomp < 0) chomp = val.length;
          [state, val] = ["value", val + c];
        }
        break;
      case "single":
        if (c === "'") state = "preValue";
        else val += c;
        break;
      case "double":
        if (c === '"') state = "preValue";
        else if (c === "\\") {
          const next = text[++i] ?? "";
          if (next === "\n") line++;
          else val += '"\\`$'.includes(next) ? next : "\\" + next;
        } else val += c;
        break;
    }
  }
  if (state !== "preKey" && state !== "comment" && state !== "key") push();
  return env;
}

/**
 * The environment a service's command gets: its `Environment=` variables, overridden by those of
 * its environment files (`envFiles`, in the order of the unit's `EnvironmentFile=` lines).
 */
export function serviceEnvironment(unit: Unit, envFiles: Map<string, string>[]): Map<string, string> {
  const env = environmentOf(unit);
  for (const file of envFiles) for (const [k, v] of file) env.set(k, v);
  return env;
}

/** The variables a command line refers to (`$NAME` and `${NAME}`). */
export function referencedVariables(commandLine: string): string[] {
  return [...commandLine.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)]
    .map((m) => m[1] ?? m[2]);
}

/**
 * The argv of the service's last `ExecStart=` line as systemd builds it: its prefixes (`-`, `@`,
 * `:`, `+`, `!`) removed, words split with quoting, `${NAME}` replaced by the variable's value inside
 * its word, and an unquoted word that is only `$NAME` replaced by the value's whitespace-separated
 * words (an unset variable gives nothing).
 *
 * @throws Error when the service has no `ExecStart=`
 */
export function execStart(unit: Unit, env: Map<string, string>): string[] {
  const line = value(unit, "Service", "ExecStart");
  if (line === undefined || line === "") throw new Error("the unit has no ExecStart=");
  const argv: string[] = [];
  for (const word of splitWords(line.replace(/^[-@:+!]+/, ""))) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word.text);
    if (whole !== null && !word.quoted) {
      argv.push(...(env.get(whole[1]) ?? "").split(/\s+/).filter((w) => w !== ""));
      continue;
    }
    argv.push(word.text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name) => env.get(name) ?? ""));
  }
  return argv;
}
