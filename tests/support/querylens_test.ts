import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeRecord, parseDiscovery, segmentPath, WAIT_CLASS, writeReaderPage } from "./querylens.ts";

Deno.test("parseDiscovery reads key=value lines and names a malformed one", () => {
  assert.deepEqual(parseDiscovery("segment_name=/pg_querylens.5432\nnrings=127\n"), {
    segment_name: "/pg_querylens.5432",
    nrings: "127",
  });
  assert.throws(() => parseDiscovery("nrings=1\nnot a pair\n"), /line 2 is not key=value/);
});

Deno.test("segmentPath names the object under /dev/shm by port", () => {
  assert.equal(segmentPath(5433), "/dev/shm/pg_querylens.5433");
});

const rawRow = {
  ring: 3,
  seq: "7",
  record_type: "error",
  pid: 42,
  dbid: 5,
  userid: 10,
  toplevel: false,
  nesting_level: 1,
  cmd_type: 1,
  flags: 0x0080 | 0x0008,
  exec_seq: "9",
  queryid: "-909800054110306740",
  planid: "5660461238983501046",
  parent_queryid: "12",
  start_time: new Date(0),
  duration_ns: "1500",
  rows: "0",
  shared_blks_hit: "4",
  shared_blks_read: "1",
  shared_blks_dirtied: "0",
  shared_blks_written: "0",
  temp_blks_read: "0",
  temp_blks_written: "0",
  wal_bytes: "0",
  wal_records: "0",
  shared_read_us: "3",
  shared_write_us: "0",
  local_read_us: "0",
  local_write_us: "0",
  temp_read_us: "0",
  temp_write_us: "0",
  cpu_user_us: null,
  cpu_sys_us: null,
  wait_samples: [0, 0, 5, 0, 0, 0, 0, 0],
  wait_event_last: 50331652,
  wait_event_type: "Lock",
  wait_event: "transactionid",
  sqlstate: "22012",
  generation: "2",
};

Deno.test("decodeRecord keeps 64-bit ids exact and optional groups absent when NULL", () => {
  const r = decodeRecord(rawRow);
  assert.equal(r.queryId, -909800054110306740n);
  assert.equal(r.planId, 5660461238983501046n);
  assert.equal(r.seq, 7n);
  assert.equal(r.recordType, "error");
  assert.equal(r.durationNs, 1500);
  assert.deepEqual(r.io, {
    sharedReadUs: 3,
    sharedWriteUs: 0,
    localReadUs: 0,
    localWriteUs: 0,
    tempReadUs: 0,
    tempWriteUs: 0,
  });
  assert.equal(r.cpu, undefined);
  assert.equal(r.waitSamples[WAIT_CLASS.Lock], 5);
  assert.equal(r.sqlstate, "22012");
  const noIo = decodeRecord({ ...rawRow, shared_read_us: null, cpu_user_us: "8", cpu_sys_us: "2" });
  assert.equal(noIo.io, undefined);
  assert.deepEqual(noIo.cpu, { userUs: 8, sysUs: 2 });
});

Deno.test("writeReaderPage writes the pid and cursors where the header says the page is", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ql-reader-page-" });
  try {
    const path = join(dir, "segment");
    const bytes = new Uint8Array(3 * 4096);
    new DataView(bytes.buffer).setBigUint64(32, 8192n, true); // reader_page_offset
    await Deno.writeFile(path, bytes);
    await writeReaderPage(path, { readerPid: 4242, cursors: new Map([[2, 77n], [0, 5n]]) });
    const view = new DataView((await Deno.readFile(path)).buffer);
    assert.equal(view.getInt32(8192, true), 4242);
    assert.equal(view.getBigUint64(8192 + 64, true), 5n);
    assert.equal(view.getBigUint64(8192 + 64 + 16, true), 77n);
    assert.equal(view.getBigUint64(8192 + 64 + 8, true), 0n);
    assert.equal(view.getInt32(4096, true), 0, "nothing written outside the page");
    await writeReaderPage(path, { readerPid: 0 });
    assert.equal(new DataView((await Deno.readFile(path)).buffer).getInt32(8192, true), 0);
    await Deno.truncate(path, 16);
    await assert.rejects(writeReaderPage(path, { readerPid: 1 }), /too short for a header/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
