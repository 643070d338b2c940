/**
 * SQL text handling with PostgreSQL's own parser (libpg_query, compiled to WebAssembly).
 *
 * - {@link obfuscateSql} replaces every literal token with `?` using the real scanner, so
 *   identifiers such as `table1` stay intact and no literal survives (unlike a digit regex).
 * - {@link statementType} classifies by the parse tree (`WITH … SELECT` is a SELECT).
 * - {@link matchKey} gives one key to a raw text (with literals) and to its pg_stat_statements
 *   normalized form (`$n`), for correlating pg_stat_activity with pg_stat_statements without ids.
 * - {@link explainableStatement} decides whether a text may be handed to EXPLAIN: exactly one
 *   plannable statement, or nothing.
 *
 * Call {@link initSqlParser} once before using the synchronous functions.
 *
 * @module
 */

import * as pgq from "libpg-query";

let ready = false;

/** Loads the WebAssembly parser. Safe to call more than once. */
export async function initSqlParser(): Promise<void> {
  if (ready) return;
  await pgq.loadModule();
  ready = true;
}

function ensureReady(): void {
  if (!ready) throw new Error("SQL parser not initialised: call initSqlParser() first");
}

const LITERAL_TOKENS = new Set(["SCONST", "USCONST", "ICONST", "FCONST", "BCONST", "XCONST"]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface ScanToken {
  start: number;
  end: number;
  text: string;
  tokenName: string;
}

function isLiteralToken(t: ScanToken): boolean {
  if (LITERAL_TOKENS.has(t.tokenName)) return true;
  const s = t.text;
  return /^(?:[bBxXeEnN]|[uU]&)?'/.test(s) || /^\$[A-Za-z_]*\$/.test(s) || /^\.?\d/.test(s);
}

/**
 * Replaces every literal (strings, numbers, bit strings, dollar-quoted strings) with `?`.
 *
 * When the text cannot be scanned (for example a literal cut off by truncation), everything from
 * the first quote character on is replaced by `?` and remaining digit runs outside identifiers are
 * masked, so that no literal can leak.
 */
export function obfuscateSql(text: string): string {
  ensureReady();
  let tokens: ScanToken[];
  try {
    tokens = pgq.scanSync(text).tokens as ScanToken[];
  } catch {
    return obfuscateUnscannable(text);
  }
  const bytes = encoder.encode(text);
  const parts: string[] = [];
  let pos = 0;
  for (const t of tokens) {
    if (!isLiteralToken(t)) continue;
    parts.push(decoder.decode(bytes.subarray(pos, t.start)), "?");
    pos = t.end;
  }
  parts.push(decoder.decode(bytes.subarray(pos)));
  return parts.join("");
}

function obfuscateUnscannable(text: string): string {
  const q = text.search(/['$]/);
  const head = q < 0 ? text : text.slice(0, q) + "?";
  return head.replace(/(^|[^\w$])\d+(?:\.\d*)?(?:[eE][+-]?\d+)?/g, "$1?");
}

/** The top-level kind of a statement: SELECT, INSERT, UPDATE, DELETE or OTHER. */
export type StatementType = "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "OTHER";

const STMT_TYPES: Record<string, StatementType> = {
  SelectStmt: "SELECT",
  InsertStmt: "INSERT",
  UpdateStmt: "UPDATE",
  DeleteStmt: "DELETE",
};

function firstStatementNode(text: string): string | undefined {
  const tree = pgq.parseSync(text) as { stmts?: { stmt: Record<string, unknown> }[] };
  const first = tree.stmts?.[0]?.stmt;
  return first ? Object.keys(first)[0] : undefined;
}

/**
 * Classifies a statement by its parse tree. Texts the parser rejects (e.g. truncated ones) are
 * classified by their first keyword token.
 */
export function statementType(text: string): StatementType {
  ensureReady();
  try {
    const node = firstStatementNode(text);
    return (node ? STMT_TYPES[node] : undefined) ?? "OTHER";
  } catch {
    return statementTypeByKeyword(text);
  }
}

function statementTypeByKeyword(text: string): StatementType {
  const word = firstKeyword(text).toUpperCase();
  return word === "SELECT" || word === "INSERT" || word === "UPDATE" || word === "DELETE" ? word : "OTHER";
}

/** The first word of `text` after white space and leading `--` and (nested) block comments. */
function firstKeyword(text: string): string {
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) i++;
    else if (text.startsWith("--", i)) {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (text.startsWith("/*", i)) {
      let depth = 0;
      do {
        if (text.startsWith("/*", i)) (depth++, i += 2);
        else if (text.startsWith("*/", i)) (depth--, i += 2);
        else i++;
      } while (depth > 0 && i < text.length);
    } else break;
  }
  return /^[A-Za-z_]+/.exec(text.slice(i))?.[0] ?? "";
}

/**
 * A key shared by a raw statement text and its pg_stat_statements normalized form: the parser's
 * fingerprint of the normalized text. Returns undefined for texts the parser rejects.
 */
export function matchKey(text: string): string | undefined {
  ensureReady();
  try {
    const normalized = /\$\d/.test(text) ? text : pgq.normalizeSync(text);
    return pgq.fingerprintSync(normalized);
  } catch {
    return undefined;
  }
}

/** Why a text cannot be explained, or the single statement to explain. */
export type ExplainCheck =
  | { ok: true; statement: string; paramCount: number }
  | { ok: false; reason: string };

const EXPLAINABLE = new Set(["SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

/**
 * Checks that `text` is exactly one SELECT, INSERT, UPDATE, DELETE or MERGE statement and returns it
 * (without trailing semicolon or surrounding text) with the number of `$n` parameters it uses.
 * Anything else (several statements, utility commands, `SELECT … INTO`, unparsable or truncated
 * texts) is refused with the reason.
 */
export function explainableStatement(text: string): ExplainCheck {
  ensureReady();
  let tree: {
    stmts?: { stmt: Record<string, Record<string, unknown>>; stmt_location?: number; stmt_len?: number }[];
  };
  try {
    tree = pgq.parseSync(text) as typeof tree;
  } catch (e) {
    return { ok: false, reason: `not parsable: ${(e as Error).message}` };
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length !== 1) return { ok: false, reason: `${stmts.length} statements, exactly one is required` };
  const node = Object.keys(stmts[0].stmt)[0];
  if (!EXPLAINABLE.has(node)) return { ok: false, reason: `${node} is not a plannable statement` };
  if (node === "SelectStmt" && stmts[0].stmt[node].intoClause) {
    return { ok: false, reason: "SELECT INTO creates a table" };
  }
  const bytes = encoder.encode(text);
  const start = stmts[0].stmt_location ?? 0;
  const len = stmts[0].stmt_len ?? 0;
  const statement = decoder.decode(len > 0 ? bytes.subarray(start, start + len) : bytes.subarray(start))
    .trim()
    .replace(/;\s*$/, "");
  return { ok: true, statement, paramCount: maxParamNumber(statement) };
}

function maxParamNumber(statement: string): number {
  let max = 0;
  const tokens = pgq.scanSync(statement).tokens as ScanToken[];
  for (const t of tokens) {
    if (t.tokenName === "PARAM") max = Math.max(max, Number(t.text.slice(1)));
  }
  return max;
}

/** The parse-tree node kinds of the statements in `text` (empty when it does not parse). */
export function statementKinds(text: string): string[] {
  ensureReady();
  try {
    const tree = pgq.parseSync(text) as { stmts?: { stmt: Record<string, unknown> }[] };
    return (tree.stmts ?? []).map((s) => Object.keys(s.stmt)[0]);
  } catch {
    return [];
  }
}
