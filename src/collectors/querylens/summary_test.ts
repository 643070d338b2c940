import assert from "node:assert/strict";
import { queryLensSummary } from "./summary.ts";

const stats = {
  source: "ffi" as const,
  sinceUnixMs: 0,
  sampled: { kept: {}, sampledOut: {} },
  cycleSampled: { kept: { slow: 3, error: 1 }, sampledOut: { rate_limit: 40 } },
  recordsRead: 900,
  recordsLost: 7,
  cycleRecordsRead: 812,
  cycleRecordsLost: 2,
  aggregateOverflow: 0,
};

Deno.test("queryLensSummary: this cycle's reads, losses and sampler decisions by reason", () => {
  assert.equal(
    queryLensSummary(stats),
    "querylens: ffi; 812 records read, 2 lost; kept error 1, slow 3; sampled out rate_limit 40",
  );
  assert.equal(
    queryLensSummary({ ...stats, cycleSampled: { kept: {}, sampledOut: {} }, aggregateOverflow: 5 }),
    "querylens: ffi; 812 records read, 2 lost; kept none; sampled out none; 5 beyond the aggregate limit",
  );
});
