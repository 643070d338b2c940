import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  DEFAULT_MAX_RECORDS,
  defaultLibraryPath,
  loadReaderLibrary,
  openRingReader,
  QueryLensReaderError,
  READ_BUFFER_RECORDS,
  statusError,
} from "./querylens_ffi.ts";
import { QL_LAYOUT_VERSION, QL_SLOT_SIZE, RECORD_OFFSETS } from "./querylens_record.ts";
import {
  buildFfi,
  expectedRecord,
  recordMismatch,
  removeSegment,
  ringStressOk,
  stressSegmentName,
} from "../../tests/support/ring_stress.ts";
import { testStateDir } from "../../tests/support/state_root.ts";
import { startTaskPermissionFlags } from "../../scripts/start_task.ts";
import { repoRoot } from "../../tests/support/servers.ts";

await buildFfi();

/** A segment of `rings` rings of `slots` slots, removed by the returned disposer. */
async function segment(tag: string, rings = 4, slots = 64, extra: string[] = []) {
  const name = stressSegmentName(tag);
  await ringStressOk(["create", name, "--rings", String(rings), "--slots", String(slots), ...extra]);
  return { name, [Symbol.asyncDispose]: () => removeSegment(name) };
}

/** Writes `records` records per ring with 2 producers. */
async function produce(name: string, records: number): Promise<void> {
  await ringStressOk(["produce", name, "--producers", "2", "--records", String(records)]);
}

function assertReaderError(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof QueryLensReaderError, `expected a QueryLensReaderError, got ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("the default library path is ffi/build/libpgquerylens.so of the source tree", () => {
  assert.equal(defaultLibraryPath(), join(repoRoot(), "ffi", "build", "libpgquerylens.so"));
  assert.ok(Deno.statSync(defaultLibraryPath()).isFile);
});

Deno.test("the library reports the decoder's layout version, slot size and field offsets", () => {
  const lib = loadReaderLibrary();
  try {
    assert.equal(lib.symbols.qlr_layout_version(), QL_LAYOUT_VERSION);
    assert.equal(lib.symbols.qlr_slot_size(), QL_SLOT_SIZE);
    const out = new Uint32Array(64);
    const n = lib.symbols.qlr_offsets(out, out.length);
    assert.equal(n, Object.keys(RECORD_OFFSETS).length);
    assert.deepEqual([...out.subarray(0, n)], Object.values(RECORD_OFFSETS));
    // a short output array gets the first fields and the full count
    const short = new Uint32Array(3);
    assert.equal(lib.symbols.qlr_offsets(short, 3), n);
    assert.deepEqual([...short], [0, 8, 9]);
  } finally {
    lib.close();
  }
});

Deno.test("a library that cannot be loaded is a no_library error naming the path", () => {
  assertReaderError(
    () => loadReaderLibrary("/nonexistent/libpgquerylens.so"),
    "no_library",
    /\/nonexistent\/libpgquerylens\.so.*make -C ffi/,
  );
  assertReaderError(
    () =>
      openRingReader("/pg_querylens.1", { mode: "oldest", publish: false, libraryPath: "/nonexistent/x.so" }),
    "no_library",
    /\/nonexistent\/x\.so/,
  );
});

/** Builds a library exporting the reader's symbols that reports another layout. */
async function fakeLibrary(dir: string, variant: "version" | "offset"): Promise<string> {
  const src = join(dir, `fake_${variant}.c`);
  const so = join(dir, `fake_${variant}.so`);
  const offsets = Object.values(RECORD_OFFSETS).map((o, i) => variant === "offset" && i === 5 ? o + 4 : o);
  await Deno.writeTextFile(
    src,
    `#include <stdint.h>
#include <stddef.h>
static const uint32_t offs[] = {${offsets.join(",")}};
void *qlr_open(const char *n, int32_t m, int32_t p, int32_t *e) { (void) n; (void) m; (void) p; *e = -9; return NULL; }
int32_t qlr_read(void *r, uint8_t *b, uint32_t l, uint8_t *s) { (void) r; (void) b; (void) l; (void) s; return -8; }
int32_t qlr_header(void *r, uint8_t *b, uint32_t l) { (void) r; (void) b; (void) l; return -8; }
void qlr_close(void *r) { (void) r; }
uint32_t qlr_layout_version(void) { return ${variant === "version" ? 99 : QL_LAYOUT_VERSION}; }
uint32_t qlr_slot_size(void) { return 256; }
int32_t qlr_offsets(uint32_t *out, uint32_t n) {
  uint32_t k = sizeof(offs) / sizeof(offs[0]);
  for (uint32_t i = 0; i < n && i < k; i++) out[i] = offs[i];
  return (int32_t) k;
}
`,
  );
  const out = await new Deno.Command("cc", { args: ["-shared", "-fPIC", "-o", so, src], stderr: "piped" })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return so;
}

Deno.test("a library built for another layout is refused before any segment is opened", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qlr-fake-" });
  try {
    const version = await fakeLibrary(dir, "version");
    assertReaderError(() => loadReaderLibrary(version), "layout_mismatch", /layout version 99, decoder 1/);
    const offset = await fakeLibrary(dir, "offset");
    assertReaderError(
      () => openRingReader("/pg_querylens.1", { mode: "head", publish: false, libraryPath: offset }),
      "layout_mismatch",
      /field flags at offset 16, decoder 12.*make -C ffi/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("statusError maps every status to its code with a message naming the segment", () => {
  const cases: [number, string, RegExp][] = [
    [-1, "no_segment", /\/seg does not exist: is pg_querylens in shared_preload_libraries/],
    [-2, "permission", /no permission to open pg_querylens segment \/seg.*segment_mode/],
    [-3, "bad_magic", /\/seg is not a pg_querylens segment/],
    [-4, "layout_mismatch", /\/seg has a layout this collector does not read/],
    [-6, "replaced", /\/seg was removed or replaced.*open it again/],
    [-8, "os_error", /rejected an argument for pg_querylens segment \/seg/],
    [-9, "os_error", /OS error 12 while reading pg_querylens segment \/seg/],
    [-42, "os_error", /unexpected status -42/],
  ];
  for (const [status, code, message] of cases) {
    const e = statusError(status, "/seg", 12);
    assert.equal(e.code, code, `status ${status}`);
    assert.match(e.message, message);
    assert.equal(e.name, "QueryLensReaderError");
  }
});

Deno.test("malformed names, modes and limits are rejected before the library is called", async () => {
  assert.throws(() => openRingReader("", { mode: "head", publish: false }), /non-empty string without NUL/);
  assert.throws(() => openRingReader("/a\0b", { mode: "head", publish: false }), TypeError);
  assert.throws(
    () => openRingReader("/" + "x".repeat(300), { mode: "head", publish: false }),
    /301 bytes, at most 255/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => openRingReader("/pg_querylens.1", { mode: "newest" as any, publish: false }),
    /mode must be "head", "oldest" or "resume", got "newest"/,
  );
  await using seg = await segment("limits");
  using reader = openRingReader(seg.name, { mode: "oldest", publish: false });
  assert.throws(() => reader.drain(0), /maxRecords must be a positive integer or Infinity, got 0/);
  assert.throws(() => reader.drain(2.5), RangeError);
});

Deno.test("a missing segment is no_segment", () => {
  assertReaderError(
    () => openRingReader(stressSegmentName("missing"), { mode: "oldest", publish: false }),
    "no_segment",
    /pg_querylens\.stress\.\d+\.missing\.\w+ does not exist/,
  );
});

Deno.test("every record the producers wrote is read back field for field, then nothing more", async () => {
  await using seg = await segment("roundtrip", 4, 64);
  using reader = openRingReader(seg.name, { mode: "oldest", publish: false });
  assert.deepEqual(reader.drain(), {
    records: [],
    lost: 0,
    skipped: 0,
    generationChanged: false,
    notReady: false,
  });
  await produce(seg.name, 5);
  const { records, lost, generationChanged, notReady, skipped } = reader.drain();
  assert.deepEqual({ lost, generationChanged, notReady, skipped }, {
    lost: 0,
    generationChanged: false,
    notReady: false,
    skipped: 0,
  });
  assert.equal(records.length, 20);
  const byRing = new Map<number, bigint[]>();
  for (const rec of records) {
    assert.deepStrictEqual(rec, expectedRecord(rec.ring, Number(rec.seq), 1));
    byRing.set(rec.ring, [...(byRing.get(rec.ring) ?? []), rec.seq]);
  }
  assert.deepEqual([...byRing.keys()].sort(), [0, 1, 2, 3]);
  for (const seqs of byRing.values()) assert.deepEqual(seqs, [0n, 1n, 2n, 3n, 4n]);
  // the harness writes error records too (about one in eight)
  assert.deepEqual(new Set(records.map((r) => r.type)), new Set(["query", "error"]));
  assert.equal(reader.drain().records.length, 0);
  assert.deepEqual(reader.totals(), { copied: 20, lost: 0, generation: 1 });
});

Deno.test("header() returns the segment's global header", async () => {
  await using seg = await segment("header", 3, 128);
  using reader = openRingReader(seg.name, { mode: "head", publish: false });
  const h = reader.header();
  assert.equal(h.layoutVersion, QL_LAYOUT_VERSION);
  assert.equal(h.slotSize, QL_SLOT_SIZE);
  assert.equal(h.headerSize, 4096);
  assert.equal(h.nrings, 3);
  assert.equal(h.slotsPerRing, 128);
  assert.equal(h.state, "ready");
  assert.equal(h.generation, 1);
  assert.equal(h.segmentName, seg.name);
  assert.equal(h.readerPageSize, 4096);
  assert.equal(h.segmentSize, Deno.statSync(`/dev/shm${seg.name}`).size);
});

Deno.test("drain stops at maxRecords and the next drain continues where it stopped", async () => {
  await using seg = await segment("max", 2, 64);
  await produce(seg.name, 10);
  using reader = openRingReader(seg.name, { mode: "oldest", publish: false });
  const first = reader.drain(3);
  assert.equal(first.records.length, 3);
  const rest = reader.drain();
  assert.equal(rest.records.length, 17);
  const seen = [...first.records, ...rest.records].map((r) => `${r.ring}:${r.seq}`).sort();
  assert.equal(new Set(seen).size, 20);
  for (const r of [...first.records, ...rest.records]) assert.equal(recordMismatch(r), undefined);
  assert.equal(DEFAULT_MAX_RECORDS > READ_BUFFER_RECORDS, true);
});

Deno.test("a drain larger than the buffer takes several library calls", async () => {
  await using seg = await segment("big", 4, 4096);
  await produce(seg.name, 3000); // 12000 records, three buffers' worth
  using reader = openRingReader(seg.name, { mode: "oldest", publish: false });
  const { records, lost } = reader.drain(Infinity);
  assert.equal(records.length, 12000);
  assert.equal(lost, 0);
  for (const r of records) assert.equal(recordMismatch(r), undefined);
});

Deno.test("mode head skips what was written before open; oldest gets what the rings retain", async () => {
  await using seg = await segment("modes", 2, 16);
  await produce(seg.name, 40); // each ring laps: 40 written, 16 retained
  using head = openRingReader(seg.name, { mode: "head", publish: false });
  using oldest = openRingReader(seg.name, { mode: "oldest", publish: false });
  assert.equal(head.drain().records.length, 0);
  const retained = oldest.drain();
  assert.equal(retained.lost, 0);
  assert.deepEqual(
    retained.records.filter((r) => r.ring === 0).map((r) => r.seq),
    Array.from({ length: 16 }, (_, i) => BigInt(24 + i)),
  );
  await produce(seg.name, 3);
  const fresh = head.drain().records;
  assert.deepEqual(fresh.map((r) => `${r.ring}:${r.seq}`).sort(), [
    "0:40",
    "0:41",
    "0:42",
    "1:40",
    "1:41",
    "1:42",
  ]);
});

Deno.test("a lapped reader counts what it lost and copied + lost equals what was written", async () => {
  await using seg = await segment("lapped", 2, 16);
  using reader = openRingReader(seg.name, { mode: "oldest", publish: false });
  await produce(seg.name, 50);
  const r = reader.drain();
  assert.equal(r.records.length, 32);
  assert.equal(r.lost, 2 * (50 - 16));
  assert.equal(r.records.length + r.lost, 100);
});

Deno.test("resume continues from the cursors a publishing reader left, in the same generation", async () => {
  await using seg = await segment("resume", 2, 64);
  await produce(seg.name, 10);
  {
    using first = openRingReader(seg.name, { mode: "oldest", publish: true });
    assert.equal(first.drain(6).records.length, 6);
  }
  using second = openRingReader(seg.name, { mode: "resume", publish: true });
  const rest = second.drain().records;
  assert.equal(rest.length, 14);
  // cursors published in another generation are not resumed: the reader starts at the oldest
  await ringStressOk(["bump", seg.name]);
  await produce(seg.name, 12);
  using third = openRingReader(seg.name, { mode: "resume", publish: false });
  assert.equal(third.drain().records.length, 24);
});

Deno.test("drainWith visits every slot without decoding", async () => {
  await using seg = await segment("visit", 2, 64);
  await produce(seg.name, 7);
  using reader = openRingReader(seg.name, { mode: "oldest", publish: false });
  const seqs: bigint[] = [];
  const stats = reader.drainWith((view, at) => seqs.push((view.getBigUint64(at, true) - 2n) / 2n));
  assert.deepEqual(stats, { count: 14, lost: 0, skipped: 0, generationChanged: false, notReady: false });
  assert.deepEqual(seqs.slice().sort(), [0n, 0n, 1n, 1n, 2n, 2n, 3n, 3n, 4n, 4n, 5n, 5n, 6n, 6n]);
});

Deno.test("a segment that is initializing is reported not ready", async () => {
  await using seg = await segment("initing", 2, 16, ["--state", "0"]);
  using reader = openRingReader(seg.name, { mode: "oldest", publish: false });
  const r = reader.drain();
  assert.equal(r.notReady, true);
  assert.equal(r.records.length, 0);
  assert.equal(reader.header().state, "initializing");
});

Deno.test("header falsifications are refused at open with their codes", async () => {
  await using magic = await segment("magic", 1, 16, ["--magic", "0x1234"]);
  assertReaderError(
    () => openRingReader(magic.name, { mode: "head", publish: false }),
    "bad_magic",
    /bad magic/,
  );
  await using version = await segment("version", 1, 16, ["--layout-version", "2"]);
  assertReaderError(
    () => openRingReader(version.name, { mode: "head", publish: false }),
    "layout_mismatch",
    /has a layout this collector does not read/,
  );
  await using slot = await segment("slot", 1, 16, ["--slot-size", "512"]);
  assertReaderError(
    () => openRingReader(slot.name, { mode: "head", publish: false }),
    "layout_mismatch",
    /layout/,
  );
  await using size = await segment("size", 1, 16, ["--segment-size", "4096"]);
  assertReaderError(
    () => openRingReader(size.name, { mode: "head", publish: false }),
    "layout_mismatch",
    /layout/,
  );
});

Deno.test("a closed reader refuses further calls and closing twice is harmless", async () => {
  await using seg = await segment("closed", 1, 16);
  const reader = openRingReader(seg.name, { mode: "oldest", publish: true });
  reader.close();
  reader.close();
  assert.throws(() => reader.drain(), /the reader of pg_querylens segment .* is closed/);
  assert.throws(() => reader.header(), /is closed/);
});

Deno.test("the collector permission set loads the extracted reader library and nothing else", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qlr-perm-" });
  await using state = await testStateDir("test-qlr-perm");
  try {
    const script = join(dir, "probe.ts");
    const href = (...p: string[]) => pathToFileURL(join(repoRoot(), "src", "extensions", ...p)).href;
    await Deno.writeTextFile(
      script,
      `import { loadReaderLibrary } from "${href("querylens_ffi.ts")}";
import { installNativeAssets } from "${href("native_install.ts")}";
import { sourceAssetPath } from "${href("native_assets.ts")}";
const tryLoad = (what: string, path: string) => {
  try {
    Deno.dlopen(path, { getpid: { parameters: [], result: "i32" } });
    console.log(what, "loaded");
  } catch (e) {
    console.log(what, "refused", (e as Error).name);
  }
};
tryLoad("before", sourceAssetPath("reader"));
const report = await installNativeAssets(Deno.args[0], "test");
const lib = loadReaderLibrary();
console.log("version", lib.symbols.qlr_layout_version(), "from", report.paths.reader);
tryLoad("libc", "libc.so.6");
// Documented limit: a symbol is looked up in the library and its dependencies.
tryLoad("libc through the reader's handle", report.paths.reader!);
tryLoad("source", sourceAssetPath("reader"));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...startTaskPermissionFlags(),
        "--config",
        join(repoRoot(), "deno.json"),
        script,
        state.path,
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /^before refused NotCapable$/m);
    const loaded = stdout.match(/^version 1 from (\S+)$/m);
    assert.ok(loaded, stdout);
    assert.ok(loaded[1].startsWith(join(state.path, "native", "test-")), loaded[1]);
    assert.match(stdout, /^libc refused NotCapable$/m);
    assert.match(stdout, /^source refused NotCapable$/m);
    assert.match(stdout, /^libc through the reader's handle loaded$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
