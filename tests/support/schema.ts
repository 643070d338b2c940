/**
 * Validation of the collector's stdout against the draft-07 schemas in `tests/schemas/`.
 *
 * A protocol v3 document holding one QPM event type is checked against that type's schema (which
 * refuses any key beyond nri-postgresql's); one holding an extended event type (data nri-postgresql
 * does not have: `PgQueryLensSlowQueryDetails`, the pg_querylens types `PostgresQueryExecutions`
 * and `PostgresQueryPlanAggregates`, `PostgresActiveSessionHistory`, `PostgresPlanChanges`,
 * `PostgresKernelMetrics` and `PostgresQueryOsDelays`) against that type's closed schema; any other v3 document against the
 * base schema; a protocol v4 document against the v4 schema, which checks each event's attributes
 * against its type's metric-set schema.
 *
 * Output written with compatibility mode off (`-compat=false`) puts the extended slow-query fields
 * into PostgresSlowQueries itself, which the upstream-exact schema refuses. Validate such output
 * with `{ compat: false }`: PostgresSlowQueries (in v3 documents and in v4 events) is then checked
 * against a relaxed variant of its schema, built here by adding the slow-query-details schema's
 * detail-only properties (see {@link relaxedSlowQueriesSchema}); every other schema stays as it is.
 *
 * @module
 */

import { Ajv, type ErrorObject } from "ajv";
import formats from "ajv-formats";
import activeSessionHistory from "../schemas/active-session-history.schema.json" with { type: "json" };
import base from "../schemas/base.schema.json" with { type: "json" };
import blockingSessions from "../schemas/blocking-sessions.schema.json" with { type: "json" };
import executionPlan from "../schemas/execution-plan.schema.json" with { type: "json" };
import individualQueries from "../schemas/individual-queries.schema.json" with { type: "json" };
import kernelMetrics from "../schemas/kernel-metrics.schema.json" with { type: "json" };
import planChanges from "../schemas/plan-changes.schema.json" with { type: "json" };
import envelope from "../schemas/qpm-envelope.schema.json" with { type: "json" };
import queryExecutions from "../schemas/query-executions.schema.json" with { type: "json" };
import queryOsDelays from "../schemas/query-os-delays.schema.json" with { type: "json" };
import queryPlanAggregates from "../schemas/query-plan-aggregates.schema.json" with { type: "json" };
import slowQueries from "../schemas/slow-queries.schema.json" with { type: "json" };
import slowQueryDetails from "../schemas/slow-query-details.schema.json" with { type: "json" };
import v4 from "../schemas/v4.schema.json" with { type: "json" };
import waitEvents from "../schemas/wait-events.schema.json" with { type: "json" };

/** Schema file of each of the five QPM event types (upstream's: no key beyond nri-postgresql's). */
export const QPM_SCHEMAS: Readonly<Record<string, string>> = {
  PostgresSlowQueries: "slow-queries.schema.json",
  PostgresWaitEvents: "wait-events.schema.json",
  PostgresBlockingSessions: "blocking-sessions.schema.json",
  PostgresIndividualQueries: "individual-queries.schema.json",
  PostgresExecutionPlanMetrics: "execution-plan.schema.json",
};

/**
 * Schema file of each extended event type: `PgQueryLensSlowQueryDetails` (published only in
 * compatibility mode), the pg_querylens types, `PostgresActiveSessionHistory`,
 * `PostgresPlanChanges`, `PostgresKernelMetrics` and `PostgresQueryOsDelays` (published in either
 * mode when the snapshot holds them).
 */
export const EXTENDED_SCHEMAS: Readonly<Record<string, string>> = {
  PgQueryLensSlowQueryDetails: "slow-query-details.schema.json",
  PostgresQueryExecutions: "query-executions.schema.json",
  PostgresQueryPlanAggregates: "query-plan-aggregates.schema.json",
  PostgresActiveSessionHistory: "active-session-history.schema.json",
  PostgresPlanChanges: "plan-changes.schema.json",
  PostgresKernelMetrics: "kernel-metrics.schema.json",
  PostgresQueryOsDelays: "query-os-delays.schema.json",
};

/** Schema file of v3 documents that hold neither a QPM nor an extended event type. */
export const BASE_SCHEMA = "base.schema.json";
/** Schema file of v4 documents. */
export const V4_SCHEMA = "v4.schema.json";

/** How the output to validate was written. */
export interface SchemaOptions {
  /**
   * Whether the output was written in compatibility mode (default true). With false,
   * PostgresSlowQueries is checked against {@link relaxedSlowQueriesSchema}.
   */
  compat?: boolean;
  /**
   * Whether the documents are hand-built fragments (default false): with true, a base metric set
   * need not meet its event type's own rules (see {@link partialBaseSchema}); every known key is
   * still typed, and entities and event types per entity are still checked. For encoder tests only: collector
   * output is always checked whole.
   */
  partial?: boolean;
}

/** Outcome of validating one document. */
export interface DocumentValidation {
  /** Schema file the document was checked against (`"none"` when none could be chosen). */
  schema: string;
  /** One line per problem (`<JSON pointer> <message>`); empty when the document is valid. */
  errors: string[];
}

/** One document found on stdout. */
export interface ParsedDoc {
  /** 1-based line where the document starts. */
  line: number;
  /** The document's text (several lines for pretty output). */
  text: string;
  /** The parsed document. */
  doc: unknown;
  /** Schema file it was validated against. */
  schema: string;
}

type JsonSchema = Record<string, unknown>;
type MetricSetSchema = { required: string[]; properties: Record<string, unknown> };

const metricSetOf = (schema: JsonSchema) => (schema.definitions as Record<string, MetricSetSchema>).metricSet;

/**
 * The PostgresSlowQueries schema that compat-off output meets: upstream's, with the properties of
 * the slow-query-details metric set that upstream's lacks (`total_exec_time_ms`, `rows`) added,
 * optional. Same `$id`, so the v4 schema's reference picks it up in the relaxed validator.
 */
export function relaxedSlowQueriesSchema(): JsonSchema {
  const relaxed = structuredClone(slowQueries) as JsonSchema;
  const props = metricSetOf(relaxed).properties;
  for (const [key, def] of Object.entries(metricSetOf(slowQueryDetails).properties)) {
    if (!(key in props)) props[key] = structuredClone(def);
  }
  return relaxed;
}

/**
 * The base schema without the per-event-type key requirements of its metric sets (the `allOf` of
 * `definitions.metricSet`); `event_type` stays required, every known key stays typed.
 */
export function partialBaseSchema(): JsonSchema {
  const partial = structuredClone(base) as JsonSchema;
  delete (metricSetOf(partial) as Record<string, unknown>).allOf;
  return partial;
}

function validator(slowQueriesSchema: JsonSchema, baseSchema: JsonSchema = base): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  // The package is CommonJS: its default export is the module object, whose `default` is the plugin.
  formats.default(ajv);
  for (
    const schema of [
      envelope,
      slowQueriesSchema,
      slowQueryDetails,
      queryExecutions,
      queryPlanAggregates,
      activeSessionHistory,
      planChanges,
      kernelMetrics,
      queryOsDelays,
      waitEvents,
      blockingSessions,
      individualQueries,
      executionPlan,
      baseSchema,
      v4,
    ]
  ) {
    ajv.addSchema(schema);
  }
  return ajv;
}

const strictAjv = validator(slowQueries);
const relaxedAjv = validator(relaxedSlowQueriesSchema());
const partialAjv = validator(slowQueries, partialBaseSchema());

/** Validates one parsed document against the schema its content calls for (see {@link SchemaOptions}). */
export function validateDocument(doc: unknown, opts: SchemaOptions = {}): DocumentValidation {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return { schema: "none", errors: ["/ must be a JSON object (one protocol document)"] };
  }
  const record = doc as Record<string, unknown>;
  const chosen = record.protocol_version === "4" ? { schema: V4_SCHEMA } : chooseV3Schema(record);
  if ("errors" in chosen) return chosen;
  if (opts.partial && opts.compat === false) {
    throw new Error("validateDocument: partial and compat: false do not combine");
  }
  const ajv = opts.partial ? partialAjv : opts.compat ?? true ? strictAjv : relaxedAjv;
  const validate = ajv.getSchema(chosen.schema);
  if (!validate) throw new Error(`schema ${chosen.schema} is not loaded`);
  if (validate(doc)) return { schema: chosen.schema, errors: [] };
  const errors = [
    ...new Set((validate.errors ?? []).map((e: ErrorObject) => {
      const extra = e.keyword === "additionalProperties"
        ? ` (${(e.params as { additionalProperty: string }).additionalProperty})`
        : "";
      return `${e.instancePath || "/"} ${e.message ?? e.keyword}${extra}`;
    })),
  ];
  return { schema: chosen.schema, errors };
}

/**
 * Splits `stdout` into documents (one per line; a pretty document runs from a line `{` to a line
 * `}`), parses and validates each, and returns them. Throws one error listing every problem: text
 * that is not JSON, stdout not ending in a newline, and each schema violation. Pass
 * `{ compat: false }` for output written with compatibility mode off (see {@link SchemaOptions}).
 */
export function assertValidDocuments(stdout: string, opts: SchemaOptions = {}): ParsedDoc[] {
  const problems: string[] = [];
  const docs: ParsedDoc[] = [];
  if (stdout.length > 0 && !stdout.endsWith("\n")) problems.push("stdout does not end with a newline");
  const lines = stdout.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i];
    if (text === "{") {
      while (i + 1 < lines.length && lines[i] !== "}") text += "\n" + lines[++i];
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      problems.push(`line ${start + 1}: not JSON (${(e as Error).message}): ${text.slice(0, 120)}`);
      continue;
    }
    const result = validateDocument(doc, opts);
    for (const err of result.errors) problems.push(`line ${start + 1} [${result.schema}]: ${err}`);
    docs.push({ line: start + 1, text, doc, schema: result.schema });
  }
  if (problems.length > 0) {
    throw new Error(`${problems.length} problem(s) in stdout:\n${problems.join("\n")}`);
  }
  return docs;
}

const TYPED_SCHEMAS: Readonly<Record<string, string>> = { ...QPM_SCHEMAS, ...EXTENDED_SCHEMAS };

function chooseV3Schema(doc: Record<string, unknown>): { schema: string } | DocumentValidation {
  const types = new Set<string>();
  for (const item of Array.isArray(doc.data) ? doc.data : []) {
    const metrics = (item as { metrics?: unknown })?.metrics;
    for (const set of Array.isArray(metrics) ? metrics : []) {
      const t = (set as { event_type?: unknown })?.event_type;
      if (typeof t === "string") types.add(t);
    }
  }
  const known = [...types].filter((t) => t in TYPED_SCHEMAS);
  if (known.length === 0) return { schema: BASE_SCHEMA };
  if (types.size === 1) return { schema: TYPED_SCHEMAS[known[0]] };
  return {
    schema: "none",
    errors: [
      `/ mixes event types ${[...types].sort().join(", ")}: ` +
      "a QPM or extended document holds exactly one event type",
    ],
  };
}
