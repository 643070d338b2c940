import assert from "node:assert/strict";
import { join } from "node:path";
import { installNativeAssets, PRUNE_AFTER_MS, STATE_ROOTS } from "./native_install.ts";
import {
  clearInstalledAssets,
  NATIVE_ASSET_NAMES,
  NATIVE_ASSETS,
  nativeAssetPath,
  sourceAssetPath,
} from "./native_assets.ts";
import { testStateDir } from "../../tests/support/state_root.ts";
import { startTaskPermissionFlags } from "../../scripts/start_task.ts";
import { repoRoot } from "../../tests/support/servers.ts";

const mode = async (p: string) => ((await Deno.lstat(p)).mode ?? 0) & 0o777;

Deno.test("the pieces land byte for byte in a private versioned directory and are used from there", async () => {
  await using state = await testStateDir("test-native");
  try {
    const report = await installNativeAssets(state.path, "9.9.9");
    assert.deepEqual(report.problems, {});
    assert.ok(report.wrote);
    assert.match(report.dir!, new RegExp(`^${join(state.path, "native")}/9\\.9\\.9-[0-9a-f]{12}$`));
    assert.equal(await mode(join(state.path, "native")), 0o700);
    assert.equal(await mode(report.dir!), 0o700);
    for (const asset of NATIVE_ASSET_NAMES) {
      const path = report.paths[asset]!;
      assert.equal(path, join(report.dir!, NATIVE_ASSETS[asset].file));
      assert.deepEqual(await Deno.readFile(path), await Deno.readFile(sourceAssetPath(asset)));
      assert.equal(await mode(path), 0o500);
      assert.equal(nativeAssetPath(asset), path);
    }
    const again = await installNativeAssets(state.path, "9.9.9");
    assert.equal(again.dir, report.dir);
    assert.equal(again.wrote, false, "copies in place are reused");
  } finally {
    clearInstalledAssets();
  }
  assert.equal(nativeAssetPath("reader"), sourceAssetPath("reader"));
});

Deno.test("a tampered copy is replaced; another version's directory is its own", async () => {
  await using state = await testStateDir("test-native");
  const first = await installNativeAssets(state.path, "1.0.0", { register: false });
  const reader = first.paths.reader!;
  await Deno.chmod(reader, 0o700);
  await Deno.writeFile(reader, new TextEncoder().encode("not a library"));
  const second = await installNativeAssets(state.path, "1.0.0", { register: false });
  assert.ok(second.wrote);
  assert.deepEqual(await Deno.readFile(reader), await Deno.readFile(sourceAssetPath("reader")));
  const other = await installNativeAssets(state.path, "1.0.1", { register: false });
  assert.notEqual(other.dir, first.dir);
  assert.ok((await Deno.stat(first.dir!)).isDirectory, "a fresh other version is kept");
});

Deno.test("directories of other versions unused for a week are pruned", async () => {
  await using state = await testStateDir("test-native");
  const old = await installNativeAssets(state.path, "0.0.1", { register: false });
  const now = Date.now();
  const recent = await installNativeAssets(state.path, "0.0.2", { register: false });
  const later = await installNativeAssets(state.path, "0.0.3", {
    register: false,
    now: () => now + PRUNE_AFTER_MS + 60_000,
  });
  assert.deepEqual(later.pruned.sort(), [old.dir!, recent.dir!].sort());
  await assert.rejects(Deno.stat(old.dir!), Deno.errors.NotFound);
});

Deno.test("a directory that is not private to the collector is refused, and nothing is loaded from it", async () => {
  await using state = await testStateDir("test-native");
  const base = join(state.path, "native");
  // Another user's directory.
  await Deno.mkdir(base, { mode: 0o700 });
  await Deno.chown(base, 65534, 65534);
  let report = await installNativeAssets(state.path, "1.0.0", { register: false });
  assert.equal(report.dir, undefined);
  assert.deepEqual(report.paths, {});
  assert.match(report.problems.reader!, /native belongs to uid 65534, not to the collector's uid 0/);
  await Deno.remove(base, { recursive: true });
  // A symbolic link to somewhere else.
  const elsewhere = await Deno.makeTempDir();
  try {
    await Deno.chmod(elsewhere, 0o700);
    await Deno.symlink(elsewhere, base);
    report = await installNativeAssets(state.path, "1.0.0", { register: false });
    assert.match(
      report.problems.bpf_object!,
      /refusing to load native code from it: .*native is a symbolic link/,
    );
    assert.deepEqual([...Deno.readDirSync(elsewhere)], [], "nothing written through the link");
  } finally {
    await Deno.remove(base);
    await Deno.remove(elsewhere, { recursive: true });
  }
  // An own directory open to others is made private.
  await Deno.mkdir(base, { mode: 0o755 });
  await Deno.chmod(base, 0o777);
  report = await installNativeAssets(state.path, "1.0.0", { register: false });
  assert.deepEqual(report.problems, {});
  assert.equal(await mode(base), 0o700);
});

Deno.test("a piece that is not built is reported with what builds it; the others are installed", async () => {
  await using state = await testStateDir("test-native");
  const report = await installNativeAssets(state.path, "1.0.0", {
    register: false,
    load: (a) => a === "bpf_object" ? Promise.reject(new Error("Module not found")) : NATIVE_ASSETS[a].load(),
  });
  assert.deepEqual(Object.keys(report.paths).sort(), ["bpf_loader", "reader"]);
  assert.equal(
    report.problems.bpf_object,
    'bpf/build/pgql_delay.bpf.o is not available (Module not found); build it with "make -C bpf (it needs ' +
      'clang and bpftool)"',
  );
});

Deno.test("the state roots are what the permission set lets the collector write and load code from", () => {
  const set = JSON.parse(Deno.readTextFileSync(join(repoRoot(), "deno.json"))).permissions.collector;
  assert.deepEqual(set.write, [...STATE_ROOTS]);
  assert.deepEqual(set.ffi, [...STATE_ROOTS]);
});

Deno.test("under the permission set, a temp_dir outside the state roots is refused with the reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pgql-native-" });
  try {
    const script = join(dir, "probe.ts");
    const module = new URL("./native_install.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { installNativeAssets } from "${module}";
const r = await installNativeAssets(Deno.args[0], "1.0.0");
console.log(JSON.stringify(r));`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...startTaskPermissionFlags(), "--config", join(repoRoot(), "deno.json"), script, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const report = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.deepEqual(report.paths, {});
    assert.match(
      report.problems.reader,
      /^cannot extract the native pieces into .*: Requires (read|write) access to .*; the collector may write only below \/tmp\/pgquerylens and \/var\/lib\/pgquerylens, so temp_dir must be one of them$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
