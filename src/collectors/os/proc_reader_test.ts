import assert from "node:assert/strict";
import { join } from "node:path";
import { defaultLibraryPath } from "../../extensions/querylens_ffi.ts";
import { denoProcReader, ffiProcReader, openProcReader } from "./proc_reader.ts";
import { testStateDir } from "../../../tests/support/state_root.ts";

const GONE_PID = 2 ** 22 + 1; // beyond the largest pid_max: never a process

Deno.test("denoProcReader: text of a file, 'missing' for a process that does not exist", () => {
  const read = denoProcReader();
  const r = read(`/proc/${Deno.pid}/stat`);
  assert.ok(r.ok && r.text.startsWith(`${Deno.pid} (`));
  assert.deepEqual(read(`/proc/${GONE_PID}/stat`), { ok: false, error: "missing" });
});

Deno.test("ffiProcReader: reads through the library what the runtime reads", () => {
  const ffi = ffiProcReader();
  try {
    const deno = denoProcReader();
    // Files that do not change between two reads (counters do).
    for (const path of [`/proc/${Deno.pid}/comm`, "/proc/sys/kernel/task_delayacct"]) {
      assert.deepEqual(ffi.read(path), deno(path), path);
    }
    const btime = (r: { ok: boolean; text?: string }) =>
      r.ok && r.text!.split("\n").find((l) => l.startsWith("btime "));
    assert.ok(btime(ffi.read("/proc/stat")));
    assert.equal(btime(ffi.read("/proc/stat")), btime(deno("/proc/stat") as { ok: boolean; text?: string }));
    const status = ffi.read(`/proc/${Deno.pid}/status`);
    assert.ok(status.ok && status.text.includes(`\nPid:\t${Deno.pid}\n`));
    assert.deepEqual(ffi.read(`/proc/${GONE_PID}/stat`), { ok: false, error: "missing" });
  } finally {
    ffi.close();
  }
});

Deno.test("ffiProcReader: only the files the OS tier needs, however a path is spelled", () => {
  const ffi = ffiProcReader();
  try {
    for (
      const path of [
        "/etc/passwd",
        "/proc/../etc/passwd",
        "/proc/1/../../etc/passwd",
        "proc/version",
        "/procfs/x",
        "/proc/version",
        `/proc/${Deno.pid}/environ`,
        `/proc/${Deno.pid}/smaps`,
        `/proc/${Deno.pid}/stat/`,
        "/proc/0/stat",
        "/proc/1234567890/stat",
        "/proc/sys/kernel/core_pattern",
      ]
    ) {
      assert.throws(
        () => ffi.read(path),
        new RegExp(`does not read ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`),
        path,
      );
    }
  } finally {
    ffi.close();
  }
});

Deno.test("ffiProcReader: a library that cannot be loaded is named", () => {
  assert.throws(
    () => ffiProcReader("/nonexistent/libnothing.so"),
    /cannot load \/nonexistent\/libnothing\.so to read \/proc: /,
  );
});

Deno.test("openProcReader: the runtime's reader when it may read /proc; the library's when forced", () => {
  const plain = openProcReader();
  assert.ok(plain.ok);
  assert.equal(plain.kind, "deno");
  const forced = openProcReader({ forceFfi: true });
  assert.ok(forced.ok);
  try {
    assert.equal(forced.kind, "ffi");
    const r = forced.read(`/proc/${Deno.pid}/schedstat`);
    assert.ok(r.ok && /^\d+ \d+ \d+\n$/.test(r.text));
  } finally {
    forced.close();
  }
  const none = openProcReader({ forceFfi: true, libraryPath: "/nonexistent/lib.so" });
  assert.ok(!none.ok);
  assert.match(
    none.reason,
    /cannot load \/nonexistent\/lib\.so .*build the collector's library \("make -C ffi"\)/,
  );
});

const REPO = join(import.meta.dirname!, "..", "..", "..");

/**
 * Runs `script` (which prints one JSON line) with Deno and `flags`, from the repository root (so
 * `-P=collector` is the collector's permission set), as root or as the OS user `nobody`.
 */
async function runScript(
  script: string,
  flags: string[],
  args: string[],
  asNobody: boolean,
): Promise<unknown> {
  const dir = await Deno.makeTempDir({ prefix: "pgql-os-" });
  await using state = await testStateDir("test-proc-reader", asNobody);
  try {
    await Deno.chmod(dir, 0o777);
    const file = join(dir, "probe.ts");
    await Deno.writeTextFile(file, script, { mode: 0o644 });
    const deno = [Deno.execPath(), "run", ...flags, "--quiet", file, ...args, state.path];
    const env = `DENO_DIR=${join(dir, "deno")}`;
    const [cmd, cmdArgs] = asNobody
      ? ["setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", "env", env, ...deno]]
      : ["env", [env, ...deno]];
    const out = await new Deno.Command(cmd, { args: cmdArgs, cwd: REPO, stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    return JSON.parse(dec.decode(out.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const MODULE = new URL("./proc_reader.ts", import.meta.url).href;
const INSTALL_MODULE = new URL("../../extensions/native_install.ts", import.meta.url).href;

Deno.test({
  name: "both readers: another user's /proc/<pid>/io is 'denied' while its stat is read",
  ignore: Deno.uid() !== 0,
  async fn() {
    const script = `import { denoProcReader, ffiProcReader } from ${JSON.stringify(MODULE)};
const pid = Deno.args[0];
const ffi = ffiProcReader(Deno.args[1]);
const deno = denoProcReader();
console.log(JSON.stringify({
  denoIo: deno("/proc/" + pid + "/io"),
  ffiIo: ffi.read("/proc/" + pid + "/io"),
  ffiStat: ffi.read("/proc/" + pid + "/stat").ok,
}));
`;
    // This test process runs as root: its io file is closed to nobody, its stat open to all.
    const seen = await runScript(
      script,
      ["-A", "--no-config"],
      [String(Deno.pid), defaultLibraryPath()],
      true,
    );
    assert.deepEqual(seen, {
      denoIo: { ok: false, error: "denied" },
      ffiIo: { ok: false, error: "denied" },
      ffiStat: true,
    });
  },
});

Deno.test({
  name: "openProcReader under the collector's permission set: the library's reader, with every outcome",
  ignore: Deno.uid() !== 0,
  async fn() {
    const script = `import { openProcReader } from ${JSON.stringify(MODULE)};
import { installNativeAssets } from ${JSON.stringify(INSTALL_MODULE)};
const [pid, gone, stateDir] = Deno.args;
await installNativeAssets(stateDir, "test");
let refused = "";
try { Deno.readTextFileSync("/proc/" + pid + "/stat"); } catch (e) { refused = e.name; }
const r = openProcReader();
if (!r.ok) throw new Error(r.reason);
const stat = r.read("/proc/" + pid + "/stat");
console.log(JSON.stringify({
  refused,
  kind: r.kind,
  stat: stat.ok && stat.text.startsWith(pid + " ("),
  io: r.read("/proc/" + pid + "/io").ok ? "read" : r.read("/proc/" + pid + "/io"),
  gone: r.read("/proc/" + gone + "/stat"),
}));
`;
    const args = [String(Deno.pid), String(GONE_PID)];
    const collector = [`--config=${join(REPO, "deno.json")}`, "-P=collector"];
    const asRoot = await runScript(script, collector, args, false);
    assert.deepEqual(asRoot, {
      refused: "NotCapable",
      kind: "ffi",
      stat: true,
      io: "read",
      gone: { ok: false, error: "missing" },
    });
    const asNobody = await runScript(script, collector, args, true);
    assert.deepEqual(asNobody, { ...asRoot as object, io: { ok: false, error: "denied" } });
  },
});
