/**
 * The loader library against the real kernel and a real PostgreSQL run from a private copy of its
 * binaries (as root: loading BPF needs it).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startCluster } from "../../tests/support/cluster.ts";
import { loadedPrograms, privateInstall } from "../../tests/support/ebpf.ts";
import {
  BpfTierError,
  defaultLoaderPath,
  defaultObjectPath,
  loadLoaderLibrary,
  openTracer,
  probeTier,
  processInfo,
  STATUS_CODES,
  statusError,
} from "./bpf_ffi.ts";

if (Deno.uid() !== 0) throw new Error("src/extensions/bpf_ffi_test.ts loads BPF programs: run it as root");

function postmasterPid(dataDir: string): number {
  return Number(Deno.readTextFileSync(join(dataDir, "postmaster.pid")).split("\n")[0]);
}

Deno.test("the built loader library speaks the decoder's ABI; a missing one says how to build it", () => {
  const lib = loadLoaderLibrary();
  lib.close();
  assert.throws(
    () => loadLoaderLibrary("/nonexistent/libpgquerylens_bpf.so"),
    (e: unknown) =>
      e instanceof BpfTierError && e.code === "no_library" &&
      /cannot load the eBPF loader library \/nonexistent\/libpgquerylens_bpf\.so: .*; build it with "make -C ffi"/
        .test(e.message),
  );
  assert.match(defaultLoaderPath(), /ffi\/build\/libpgquerylens_bpf\.so$/);
  assert.match(defaultObjectPath(), /bpf\/build\/pgql_delay\.bpf\.o$/);
});

Deno.test("status codes map to error codes, keeping the library's explanation", () => {
  assert.equal(STATUS_CODES[-1], "not_permitted");
  const e = statusError(-4, "the server executable lacks the USDT probes query__start");
  assert.equal(e.code, "no_usdt");
  assert.equal(e.message, "the server executable lacks the USDT probes query__start");
  assert.equal(statusError(-99, "").code, "os_error");
});

Deno.test("processInfo reads a process's parent and start time; none for a process that does not exist", async () => {
  // Start times are compared with each other, not with the wall clock: a VM's clock may be stepped.
  const first = new Deno.Command("sleep", { args: ["5"] }).spawn();
  await new Promise((r) => setTimeout(r, 1_000));
  const second = new Deno.Command("sleep", { args: ["5"] }).spawn();
  try {
    const a = processInfo(first.pid);
    const b = processInfo(second.pid);
    assert.ok(a && b);
    assert.equal(a.ppid, Deno.pid);
    assert.equal(b.ppid, Deno.pid);
    const apart = b.startMs - a.startMs;
    assert.ok(apart >= 900 && apart < 3_000, `started ${apart} ms apart, 1000 expected`);
  } finally {
    for (const c of [first, second]) {
      c.kill();
      await c.status;
    }
  }
  assert.equal(processInfo(0x7ffffff0), undefined);
  assert.throws(() => processInfo(0), /^RangeError: pid must be a positive integer, got 0$/);
  assert.throws(() => probeTier(-4), /postmaster pid must be a positive integer, got -4/);
});

Deno.test("probeTier names the first missing requirement", () => {
  const self = probeTier(Deno.pid);
  assert.equal(self.ok, false);
  assert.equal(!self.ok && self.code, "no_usdt");
  assert.match(self.message, /lacks the USDT probes query__start, query__done, query__execute__start/);
  assert.match(self.message, /--enable-dtrace/);
  const gone = probeTier(0x7ffffff0);
  assert.equal(!gone.ok && gone.code, "no_binary");
  assert.match(gone.message, /no such process: is the server running on this host\?/);
  const noObject = probeTier(Deno.pid, { objectPath: "/nonexistent/pgql_delay.bpf.o" });
  assert.equal(!noObject.ok && noObject.code, "no_object");
  assert.match(
    noObject.message,
    /cannot read the BPF object \/nonexistent\/pgql_delay\.bpf\.o: No such file/,
  );
  const noLibrary = probeTier(Deno.pid, { libraryPath: "/nonexistent/lib.so" });
  assert.equal(!noLibrary.ok && noLibrary.code, "no_library");
});

Deno.test("openTracer refuses invalid settings and an object that is not BPF", () => {
  assert.throws(
    () => openTracer(Deno.pid, { thresholdNs: -1, sampleEvery: 1 }),
    /thresholdNs must be an integer >= 0/,
  );
  assert.throws(
    () => openTracer(Deno.pid, { thresholdNs: 0, sampleEvery: 0 }),
    /sampleEvery must be an integer >= 1/,
  );
  assert.throws(
    () => openTracer(Deno.pid, { thresholdNs: 0, sampleEvery: 1 }),
    (e: unknown) => e instanceof BpfTierError && e.code === "no_usdt",
  );
});

Deno.test("a tracer measures queries of both protocols, counts what it skips, and detaches on close", async (t) => {
  await using install = await privateInstall();
  await using cluster = await startCluster({ server: install.server, name: "bpfffi" });
  const sql = cluster.sql();
  const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`;
  const pm = postmasterPid(cluster.dataDir);

  await t.step("the probe finds everything the tier needs", () => {
    const probe = probeTier(pm);
    assert.deepEqual(probe, {
      ok: true,
      message: `ok: ${join(install.server.binDir, "postgres")} has the probes`,
    });
  });

  await t.step("an object that is not BPF is refused with libbpf's reason", () => {
    assert.throws(
      () => openTracer(pm, { thresholdNs: 0, sampleEvery: 1, objectPath: defaultLoaderPath() }),
      (e: unknown) =>
        e instanceof BpfTierError && e.code === "load_failed" && /cannot open the BPF object/.test(e.message),
    );
  });

  await t.step("every query is traced, with its text, protocol and times", async () => {
    using tracer = openTracer(pm, { thresholdNs: 0, sampleEvery: 1 });
    assert.equal(tracer.description.executable, join(install.server.binDir, "postgres"));
    assert.equal(tracer.description.usdtLinks, 5);
    assert.equal(tracer.description.tracepointLinks, 3);
    assert.equal(tracer.description.errorProbe, true);
    assert.equal(tracer.description.queryTextExtended, true);
    await sql.unsafe("SELECT pg_sleep(0.2)");
    await sql`SELECT ${7}::int * 6 AS answer`;
    await sql.unsafe("SELECT 1 / 0").catch(() => {});
    const events = tracer.poll().filter((e) => e.pid === pid);
    assert.deepEqual(events.map((e) => [e.protocol, e.aborted, e.text]), [
      ["simple", false, "SELECT pg_sleep(0.2)"],
      ["extended", false, "SELECT $1::int * 6 AS answer"],
      ["simple", true, "SELECT 1 / 0"],
    ]);
    const sleep = events[0];
    const duration = Number(sleep.endNs - sleep.startNs);
    assert.ok(duration >= 200e6, `${duration}`);
    assert.ok(
      sleep.sleepNs >= 190e6 && sleep.sleepNs <= duration,
      JSON.stringify(sleep, (_, v) => typeof v === "bigint" ? String(v) : v),
    );
    assert.equal(sleep.onCpuNs + sleep.runQueueNs + sleep.ioWaitNs + sleep.sleepNs, duration);
    const c = tracer.counters();
    assert.equal(c.hitQueryStart, 2);
    // pg_sleep runs in a portal nested in its simple query; 1 / 0 fails while planning, before any
    assert.equal(c.hitExecuteStart, 2);
    assert.equal(c.nested, 1);
    assert.equal(c.hitTransactionAbort, 1);
    assert.equal(c.emitted, 3);
    assert.equal(c.closed, 3);
    assert.equal(c.ringFull, 0);
    assert.deepEqual(tracer.poll(), [], "nothing twice");
    const offset = tracer.clockOffsetNs();
    const startMs = Number((sleep.startNs + offset) / 1_000_000n);
    assert.ok(Math.abs(startMs - Date.now()) < 10_000, `${startMs} vs ${Date.now()}`);
  });

  await t.step("close detaches everything; a closed tracer refuses calls", async () => {
    const tracer = openTracer(pm, { thresholdNs: 0, sampleEvery: 1 });
    assert.ok((await loadedPrograms()).length > 0);
    tracer.close();
    tracer.close();
    assert.deepEqual(await loadedPrograms(), []);
    assert.throws(() => tracer.poll(), /the eBPF tracer of postmaster \d+ is closed/);
  });

  await t.step("the threshold and sampling leave queries out and count them", async () => {
    using tracer = openTracer(pm, { thresholdNs: 50_000_000, sampleEvery: 2 });
    for (let i = 0; i < 10; i++) await sql.unsafe("SELECT 1");
    for (let i = 0; i < 4; i++) await sql.unsafe("SELECT pg_sleep(0.06)");
    const events = tracer.poll().filter((e) => e.pid === pid);
    const c = tracer.counters();
    assert.equal(c.hitQueryStart, 14);
    assert.equal(c.unsampled, 7, "every other query");
    assert.equal(c.closed, 7);
    assert.equal(c.emitted + c.belowThreshold, 7);
    assert.equal(events.length, c.emitted);
    assert.ok(
      events.every((e) => e.text === "SELECT pg_sleep(0.06)"),
      JSON.stringify(events.map((e) => e.text)),
    );
    assert.equal(c.emitted, 2);
  });
});
