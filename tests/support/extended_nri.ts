/**
 * Checks shared by the NRI tests of the event types nri-postgresql lacks (pg_querylens, plan
 * changes, active session history, OS metrics and delays): the documents nri-postgresql has stay
 * byte for byte the same when such data is added, and the added documents meet their closed schema
 * in protocol 3 and 4.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { UnifiedMetrics } from "../../src/core/model.ts";
import { encodeQpmDocuments, type NriOptions } from "../../src/nri_adapter/qpm.ts";
import { assertValidDocuments, validateDocument } from "./schema.ts";

const FIXTURES = join(import.meta.dirname!, "..", "fixtures", "nri");

/** The NRI golden-file snapshot (tests/fixtures/nri/snapshot.json), fresh on every call. */
export function fixtureSnapshot(): UnifiedMetrics {
  const raw = JSON.parse(Deno.readTextFileSync(join(FIXTURES, "snapshot.json")));
  return { ...raw, collectedAt: new Date(raw.collectedAt) };
}

/** Encoder options of these tests: protocol 3, compact, no SDK keys. */
export const NRI_TEST_OPTIONS: NriOptions = {
  integrationVersion: "0.1.0",
  pretty: false,
  addHostname: false,
  isRds: false,
  protocol: 3,
};

/**
 * Asserts that the documents of `withExtra()` start with exactly the documents of the fixture
 * snapshot (default, RDS, compat off, protocol 4, pretty) and add `extraDocuments` after them.
 */
export function assertOtherDocumentsUnchanged(withExtra: () => UnifiedMetrics, extraDocuments = 1): void {
  for (
    const variant of [{}, { isRds: true }, { compat: false }, { protocol: 4 as const }, { pretty: true }]
  ) {
    const opts = { ...NRI_TEST_OPTIONS, ...variant };
    const plain = encodeQpmDocuments(fixtureSnapshot(), opts).documents;
    const docs = encodeQpmDocuments(withExtra(), opts).documents;
    assert.deepEqual(docs.slice(0, plain.length), plain, JSON.stringify(variant));
    assert.equal(docs.length, plain.length + extraDocuments, JSON.stringify(variant));
  }
}

/**
 * Asserts that the last document of `snapshot()` validates against `schemaFile` in protocol 3
 * (compat on and off, with SDK keys) and against the v4 schema in protocol 4, also when pretty.
 */
export function assertExtendedDocumentsValid(snapshot: () => UnifiedMetrics, schemaFile: string): void {
  for (
    const variant of [{}, { compat: false }, { cluster: "c", service: "s", addHostname: true }, {
      protocol: 4 as const,
    }]
  ) {
    const doc = JSON.parse(
      encodeQpmDocuments(snapshot(), { ...NRI_TEST_OPTIONS, ...variant }).documents.at(-1)!,
    );
    const result = validateDocument(doc, { compat: variant.compat });
    const expected = variant.protocol === 4 ? "v4.schema.json" : schemaFile;
    assert.deepEqual(result, { schema: expected, errors: [] }, JSON.stringify(variant));
  }
  const stdout = encodeQpmDocuments(snapshot(), { ...NRI_TEST_OPTIONS, pretty: true }).documents.join("");
  assert.equal(assertValidDocuments(stdout).at(-1)!.schema, schemaFile);
}
