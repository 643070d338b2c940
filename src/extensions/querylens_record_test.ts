import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeHeader,
  decodeRecord,
  HEADER_STRUCT_SIZE,
  isKnownRecord,
  QL_FLAGS,
  QL_HEADER_SIZE,
  QL_LAYOUT_VERSION,
  QL_MAGIC,
  QL_REC_ERROR,
  QL_REC_QUERY,
  QL_REC_VERSION,
  QL_SLOT_SIZE,
  type QueryLensRecord,
  RECORD_OFFSETS,
  unpackSqlstate,
  WAIT_CLASSES,
} from "./querylens_record.ts";

const LAYOUT_HEADER = join(import.meta.dirname!, "..", "..", "extension", "pg_querylens_layout.h");

/** The `#define NAME value` constants of the layout header. */
function layoutDefines(): Map<string, string> {
  const text = Deno.readTextFileSync(LAYOUT_HEADER);
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^#define\s+(QL_\w+)\s+(\S+)/gm)) out.set(m[1], m[2]);
  return out;
}

function cNumber(text: string): bigint {
  const m = /^(?:UINT64_C\()?(0x[0-9A-Fa-f]+|\d+)\)?$/.exec(text);
  if (!m) throw new Error(`not a C integer constant: ${text}`);
  return BigInt(m[1]);
}

/** PostgreSQL's MAKE_SQLSTATE: six bits per character, first character lowest. */
function packSqlstate(code: string): number {
  let v = 0;
  for (let i = 0; i < 5; i++) v += ((code.charCodeAt(i) - 48) & 0x3f) * 2 ** (6 * i);
  return v;
}

Deno.test("the constants are those of extension/pg_querylens_layout.h", () => {
  const d = layoutDefines();
  assert.equal(cNumber(d.get("QL_LAYOUT_VERSION")!), BigInt(QL_LAYOUT_VERSION));
  assert.equal(cNumber(d.get("QL_SLOT_SIZE")!), BigInt(QL_SLOT_SIZE));
  assert.equal(cNumber(d.get("QL_HEADER_SIZE")!), BigInt(QL_HEADER_SIZE));
  assert.equal(cNumber(d.get("QL_MAGIC")!), QL_MAGIC);
  assert.equal(cNumber(d.get("QL_REC_QUERY")!), BigInt(QL_REC_QUERY));
  assert.equal(cNumber(d.get("QL_REC_ERROR")!), BigInt(QL_REC_ERROR));
  assert.equal(cNumber(d.get("QL_REC_VERSION")!), BigInt(QL_REC_VERSION));
  assert.equal(cNumber(d.get("QL_WAIT_CLASSES")!), BigInt(WAIT_CLASSES.length));
  for (const [flag, value] of Object.entries(QL_FLAGS)) {
    assert.equal(cNumber(d.get(`QL_FLAG_${flag}`)!), BigInt(value), `QL_FLAG_${flag}`);
  }
  const waitNames = ["CPU", "LWLOCK", "LOCK", "BUFFERPIN", "IO", "IPC", "TIMEOUT", "OTHER"];
  waitNames.forEach((name, i) => {
    assert.equal(cNumber(d.get(`QL_WAIT_${name}`)!), BigInt(i), `QL_WAIT_${name}`);
    assert.equal(WAIT_CLASSES[i].toUpperCase(), name);
  });
});

Deno.test("the record offsets tile the slot in the header's declaration order", () => {
  const text = Deno.readTextFileSync(LAYOUT_HEADER);
  const struct = /typedef struct QlRecord\s*\{([\s\S]*?)\}\s*QlRecord;/.exec(text)![1];
  const fields = [...struct.matchAll(/^\s*\w+\s+(\w+)(?:\[\w+\])?;/gm)].map((m) => m[1]);
  assert.deepEqual(Object.keys(RECORD_OFFSETS), fields);
  // the header's comments state the offset of most fields: they agree with the table
  let commented = 0;
  for (const m of struct.matchAll(/^\s*\w+\s+(\w+)(?:\[\w+\])?;\s*\/\*\s*(\d+)\b/gm)) {
    assert.equal(RECORD_OFFSETS[m[1] as keyof typeof RECORD_OFFSETS], Number(m[2]), m[1]);
    commented++;
  }
  assert.ok(commented >= 40, `only ${commented} offset comments found`);
  const offsets = Object.values(RECORD_OFFSETS);
  for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i] > offsets[i - 1]);
  assert.equal(RECORD_OFFSETS.reserved + 8, QL_SLOT_SIZE);
});

/** A slot written field by field as the extension lays it out. */
function slot(
  fill: {
    n: bigint;
    type: number;
    flags: number;
    queryid: bigint;
    startUs: bigint;
    sqlstate?: number;
    ring: number;
    version?: number;
  },
): DataView {
  const v = new DataView(new ArrayBuffer(QL_SLOT_SIZE * 2));
  const o = QL_SLOT_SIZE; // the second slot, to exercise the offset
  v.setBigUint64(o + 0, 2n * fill.n + 2n, true);
  v.setUint8(o + 8, fill.type);
  v.setUint8(o + 9, fill.version ?? QL_REC_VERSION);
  v.setUint8(o + 10, 2);
  v.setUint8(o + 11, 3);
  v.setUint32(o + 12, fill.flags, true);
  v.setInt32(o + 16, 4242, true);
  v.setUint32(o + 20, 16384, true);
  v.setUint32(o + 24, 10, true);
  v.setUint32(o + 28, 7, true);
  v.setBigUint64(o + 32, 99n, true);
  v.setBigUint64(o + 40, BigInt.asUintN(64, fill.queryid), true);
  v.setBigUint64(o + 48, 0xfedcba9876543210n, true);
  v.setBigUint64(o + 56, 12345n, true);
  v.setBigInt64(o + 64, fill.startUs, true);
  for (let i = 0; i < 15; i++) v.setBigUint64(o + 72 + 8 * i, BigInt(1000 + i) * 4_000_000_000n, true);
  for (let i = 0; i < 8; i++) v.setUint32(o + 192 + 4 * i, 500 + i, true);
  for (let i = 0; i < 8; i++) v.setUint16(o + 224 + 2 * i, 60000 + i, true);
  v.setUint32(o + 240, 0x0500_0003, true);
  v.setUint32(o + 244, fill.sqlstate ?? 0, true);
  v.setBigUint64(o + 248, BigInt(fill.ring), true);
  return v;
}

Deno.test("decodeRecord decodes every field of a query record, ids signed", () => {
  const flags = QL_FLAGS.TOPLEVEL | QL_FLAGS.QUERYID | QL_FLAGS.IO_TIMING | QL_FLAGS.CPU_VALID;
  const view = slot({
    n: 41n,
    type: QL_REC_QUERY,
    flags,
    queryid: -8_000_000_000_000_000_123n,
    startUs: 1_700_000_000_123_456n,
    ring: 17,
  });
  const counter = (i: number) => (1000 + i) * 4_000_000_000;
  const expected: QueryLensRecord = {
    ring: 17,
    seq: 41n,
    type: "query",
    pid: 4242,
    dbid: 16384,
    userid: 10,
    toplevel: true,
    nestingLevel: 2,
    cmdType: 3,
    flags,
    generation: 7,
    execSeq: 99n,
    queryId: -8_000_000_000_000_000_123n,
    planId: BigInt.asIntN(64, 0xfedcba9876543210n),
    parentQueryId: 12345n,
    startUs: 1_700_000_000_123_456,
    durationNs: counter(0),
    rows: counter(1),
    sharedBlksHit: counter(2),
    sharedBlksRead: counter(3),
    sharedBlksDirtied: counter(4),
    sharedBlksWritten: counter(5),
    localBlksHit: counter(6),
    localBlksRead: counter(7),
    localBlksDirtied: counter(8),
    localBlksWritten: counter(9),
    tempBlksRead: counter(10),
    tempBlksWritten: counter(11),
    walBytes: counter(12),
    walRecords: counter(13),
    walFpi: counter(14),
    io: {
      sharedReadUs: 500,
      sharedWriteUs: 501,
      localReadUs: 502,
      localWriteUs: 503,
      tempReadUs: 504,
      tempWriteUs: 505,
    },
    cpu: { userUs: 506, sysUs: 507 },
    waitSamples: [60000, 60001, 60002, 60003, 60004, 60005, 60006, 60007],
    waitEventLast: 0x0500_0003,
  };
  assert.deepStrictEqual(decodeRecord(view, QL_SLOT_SIZE), expected);
  assert.ok(expected.planId < 0n, "a planid with the top bit set is negative");
});

Deno.test("an error record carries its SQLSTATE; I/O and CPU times only with their flags", () => {
  const view = slot({
    n: 0n,
    type: QL_REC_ERROR,
    flags: QL_FLAGS.ABORTED,
    queryid: 5n,
    startUs: -1n,
    sqlstate: packSqlstate("42P01"),
    ring: 0,
  });
  const rec = decodeRecord(view, QL_SLOT_SIZE);
  assert.equal(rec.type, "error");
  assert.equal(rec.sqlstate, "42P01");
  assert.equal(rec.seq, 0n);
  assert.equal(rec.toplevel, false);
  assert.equal(rec.startUs, -1);
  assert.equal("io" in rec, false);
  assert.equal("cpu" in rec, false);
  const query = decodeRecord(
    slot({ n: 1n, type: QL_REC_QUERY, flags: 0, queryid: 1n, startUs: 1n, ring: 0 }),
    256,
  );
  assert.equal("sqlstate" in query, false);
});

Deno.test("unpackSqlstate inverts PostgreSQL's packing", () => {
  // ERRCODE_UNDEFINED_TABLE = MAKE_SQLSTATE('4','2','P','0','1')
  assert.equal(packSqlstate("42P01"), 4 + (2 << 6) + (32 << 12) + (0 << 18) + (1 << 24));
  for (const code of ["42P01", "57014", "23505", "XX000", "00000", "P0001", "40P01"]) {
    assert.equal(unpackSqlstate(packSqlstate(code)), code);
  }
});

Deno.test("record numbers beyond 2^53 decode exactly", () => {
  const n = 2n ** 60n + 3n;
  const rec = decodeRecord(slot({ n, type: QL_REC_QUERY, flags: 0, queryid: 0n, startUs: 0n, ring: 1 }), 256);
  assert.equal(rec.seq, n);
});

Deno.test("unknown record types and versions are refused with a clear error", () => {
  const typed = slot({ n: 1n, type: 3, flags: 0, queryid: 0n, startUs: 0n, ring: 0 });
  assert.equal(isKnownRecord(typed, QL_SLOT_SIZE), false);
  assert.throws(() => decodeRecord(typed, QL_SLOT_SIZE), /unknown pg_querylens record at offset 256: type 3/);
  const versioned = slot({
    n: 1n,
    type: QL_REC_QUERY,
    flags: 0,
    queryid: 0n,
    startUs: 0n,
    ring: 0,
    version: 2,
  });
  assert.equal(isKnownRecord(versioned, QL_SLOT_SIZE), false);
  assert.throws(() => decodeRecord(versioned, QL_SLOT_SIZE), /record version 2/);
  assert.equal(
    isKnownRecord(slot({ n: 1n, type: QL_REC_ERROR, flags: 0, queryid: 0n, startUs: 0n, ring: 0 }), 256),
    true,
  );
});

Deno.test("decodeRecord refuses an offset whose slot does not fit the view", () => {
  const view = slot({ n: 1n, type: QL_REC_QUERY, flags: 0, queryid: 0n, startUs: 0n, ring: 0 });
  assert.throws(() => decodeRecord(view, 300), /a record at offset 300 does not fit in the 512-byte view/);
  assert.throws(() => decodeRecord(view, -1), RangeError);
  assert.throws(() => decodeRecord(view, 1.5), RangeError);
});

Deno.test("decodeHeader decodes the global header and refuses a bad magic", () => {
  const v = new DataView(new ArrayBuffer(QL_HEADER_SIZE));
  v.setBigUint64(0, QL_MAGIC, true);
  v.setUint32(8, 1, true);
  v.setUint32(12, 4096, true);
  v.setUint32(16, 256, true);
  v.setUint32(20, 1024, true);
  v.setUint32(24, 130, true);
  v.setUint32(28, 1, true);
  v.setBigUint64(64, 34_000_000n, true);
  v.setBigUint64(72, 3n, true);
  v.setBigUint64(80, 7_300_000_000_000_000_001n, true);
  v.setBigInt64(88, 1_700_000_000_000_000n, true);
  v.setInt32(96, 777, true);
  v.setUint32(100, 150004, true);
  v.setUint32(104, 8192, true);
  v.setUint32(108, 0x0c, true);
  v.setUint32(112, 10, true);
  v.setUint32(116, 16, true);
  v.setBigUint64(120, 1_700_000_000_500_000n, true);
  v.setBigUint64(128, 42n, true);
  v.setInt32(136, 778, true);
  v.setUint32(140, 8192, true);
  new Uint8Array(v.buffer).set(new TextEncoder().encode("/pg_querylens.5432"), 144);
  assert.deepStrictEqual(decodeHeader(v), {
    layoutVersion: 1,
    headerSize: 4096,
    slotSize: 256,
    slotsPerRing: 1024,
    nrings: 130,
    state: "ready",
    segmentSize: 34_000_000,
    generation: 3,
    systemIdentifier: 7_300_000_000_000_000_001n,
    postmasterStartUs: 1_700_000_000_000_000,
    postmasterPid: 777,
    pgVersionNum: 150004,
    blcksz: 8192,
    capabilities: 0x0c,
    samplePeriodMs: 10,
    cpuSampleEvery: 16,
    samplerHeartbeatUs: 1_700_000_000_500_000,
    samplerPasses: 42,
    samplerPid: 778,
    readerPageSize: 8192,
    segmentName: "/pg_querylens.5432",
  });
  v.setUint32(28, 9, true);
  assert.equal(decodeHeader(v).state, 9);
  v.setBigUint64(0, 0x1234n, true);
  assert.throws(() => decodeHeader(v), /not a pg_querylens segment header: magic 0x1234/);
  assert.throws(() => decodeHeader(new DataView(new ArrayBuffer(100))), /does not fit in the 100-byte view/);
  assert.equal(HEADER_STRUCT_SIZE, 208);
});
