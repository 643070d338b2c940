/**
 * Test helper: pg_querylens records built in tests, with plausible values for every field.
 *
 * @module
 */

import type { QueryLensRecord } from "../../extensions/querylens_record.ts";

/** 2026-03-01T10:00:00Z in microseconds since the Unix epoch: the default start of a record. */
export const T0_US = 1_772_359_200_000_000;

/** The default query id of {@link qlRecord} (negative, beyond 2^53, as real query ids are). */
export const QUERY_ID = -6482174329745523713n;

/**
 * A completed top-level SELECT of 2.5 ms by pid 4242 in database 16384, overridden by `over`.
 * Without I/O or CPU times and without wait samples unless `over` gives them.
 */
export function qlRecord(over: Partial<QueryLensRecord> = {}): QueryLensRecord {
  return {
    ring: 3,
    seq: 10n,
    type: "query",
    pid: 4242,
    dbid: 16384,
    userid: 10,
    toplevel: true,
    nestingLevel: 0,
    cmdType: 1,
    flags: 1,
    generation: 1,
    execSeq: 1n,
    queryId: QUERY_ID,
    planId: 7_310_227_119_438_526_021n,
    parentQueryId: QUERY_ID,
    startUs: T0_US,
    durationNs: 2_500_000,
    rows: 1,
    sharedBlksHit: 4,
    sharedBlksRead: 1,
    sharedBlksDirtied: 0,
    sharedBlksWritten: 0,
    localBlksHit: 0,
    localBlksRead: 0,
    localBlksDirtied: 0,
    localBlksWritten: 0,
    tempBlksRead: 0,
    tempBlksWritten: 0,
    walBytes: 0,
    walRecords: 0,
    walFpi: 0,
    waitSamples: [0, 0, 0, 0, 0, 0, 0, 0],
    waitEventLast: 0,
    ...over,
  };
}

/** `n` records of {@link qlRecord} with execution numbers 1..n (and `over` applied to each). */
export function qlRecords(n: number, over: Partial<QueryLensRecord> = {}): QueryLensRecord[] {
  return Array.from({ length: n }, (_, i) => qlRecord({ ...over, execSeq: BigInt(i + 1), seq: BigInt(i) }));
}
