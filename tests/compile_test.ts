/**
 * `deno task compile`: it stops with a message that says how to provide the denort runtime when
 * DENORT_BIN is missing or wrong; the binary carries exactly the start task's permission set and the
 * native pieces; with a real denort runtime (DENORT_BIN set when the tests run) the binary's output
 * has the same shape as `deno task start`'s.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { compileArgs, denortProblem, runDenoCompile } from "../scripts/compile.ts";
import { REPO_ROOT, startTaskArgs } from "../scripts/start_task.ts";
import { NATIVE_ASSET_NAMES, NATIVE_ASSETS } from "../src/extensions/native_assets.ts";
import { readEmbedded } from "./support/compiled_binary.ts";
import { startCluster } from "./support/cluster.ts";
import { clusterEnv, metricSetsByType } from "./support/collector.ts";
import { testStateDir } from "./support/state_root.ts";

const decoder = new TextDecoder();

/** Runs `deno task compile` with `env` (DENORT_BIN or not) and extra arguments. */
async function compileTask(env: Record<string, string>, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile", ...args],
    cwd: REPO_ROOT,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/root", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: decoder.decode(out.stderr) };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("without DENORT_BIN the compile task stops and says how to provide the runtime", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pgql-compile-" });
  try {
    const output = join(dir, "pgquerylens-collector");
    const run = await compileTask({}, ["--output", output]);
    assert.equal(run.code, 1);
    const v = Deno.version.deno;
    const t = Deno.build.target;
    assert.match(
      run.stderr,
      /^\[ERROR\] DENORT_BIN is not set\. deno compile builds the binary on the denort runtime/m,
    );
    assert.ok(run.stderr.includes(`(${v}, ${t})`), run.stderr);
    assert.ok(run.stderr.includes(`https://dl.deno.land/release/v${v}/denort-${t}.zip`), run.stderr);
    assert.ok(run.stderr.includes("DENORT_BIN=/path/to/denort deno task compile"), run.stderr);
    assert.equal(await exists(output), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a DENORT_BIN that is not the runtime is named and refused, and no binary is left", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "pgql-compile-" });
  try {
    const output = join(dir, "pgquerylens-collector");
    await t.step("a missing file", async () => {
      const run = await compileTask({ DENORT_BIN: join(dir, "nope") }, ["--output", output]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^\[ERROR\] DENORT_BIN=.*\/nope: No such file or directory/m);
    });
    await t.step("the deno CLI", async () => {
      const run = await compileTask({ DENORT_BIN: Deno.execPath() }, ["--output", output]);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /is the deno CLI \(deno \d+\.\d+\.\d+.*\), not the denort runtime that deno compile needs/,
      );
    });
    await t.step("an executable that does not run the program", async () => {
      const fake = join(dir, "denort");
      await Deno.copyFile("/bin/true", fake);
      const run = await compileTask({ DENORT_BIN: fake }, ["--output", output]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        /the binary built on DENORT_BIN=.*\/denort does not run \(exit 0, printed ""\); DENORT_BIN must be the denort runtime of Deno/,
      );
    });
    assert.equal(await exists(output), false);
    assert.equal(
      await Deno.readTextFile(join(REPO_ROOT, "src", "build_info.json")).then((t) => JSON.parse(t).commit),
      "dev",
      "the build identity is restored after the build",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The permissions deno resolves from deno.json's collector set, in the metadata's shape. */
function expectedPermissions(): Record<string, unknown> {
  const set = JSON.parse(Deno.readTextFileSync(join(REPO_ROOT, "deno.json"))).permissions.collector;
  const abs = (p: string) => p.startsWith("./") ? join(REPO_ROOT, p) : p;
  return {
    allow_env: set.env,
    allow_net: set.net === true ? [] : set.net,
    allow_ffi: set.ffi.map(abs),
    allow_read: set.read.map(abs),
    allow_write: set.write.map(abs),
    allow_run: null,
    allow_sys: null,
    prompt: false,
  };
}

Deno.test("the binary embeds the start task's permission set, main.ts and every native piece", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pgql-compile-" });
  try {
    const output = join(dir, "pgquerylens-collector");
    // The deno CLI stands in for denort here: the embedded content is the same, the binary is not run.
    const out = await runDenoCompile(compileArgs(output), Deno.execPath());
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    const { metadata, files } = readEmbedded(await Deno.readFile(output));
    const permissions = metadata.permissions as Record<string, unknown>;
    const expected = expectedPermissions();
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(permissions[key], value, key);
    assert.deepEqual(startTaskArgs().slice(1, -1).filter((f) => f.startsWith("-P=")), ["-P=collector"]);
    assert.equal(metadata.entrypoint_key, "main.ts");
    assert.equal((metadata.unstable_config as Record<string, unknown>).raw_imports, true);
    for (const asset of NATIVE_ASSET_NAMES) {
      const path = NATIVE_ASSETS[asset].sourcePath;
      assert.deepEqual(files.get(path), await Deno.readFile(join(REPO_ROOT, path)), `${path} embedded`);
    }
    assert.ok([...files.keys()].some((p) => p.endsWith("libpg-query.wasm")), "the SQL parser's wasm");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const denort = Deno.env.get("DENORT_BIN");
const denortUsable = denort !== undefined && denort !== "" && await denortProblem(denort) === undefined;

/** Event types and metric keys of the documents on `stdout`, values aside. */
function shape(stdout: string): string[] {
  const out: string[] = [];
  for (const [type, sets] of metricSetsByType(stdout)) {
    for (const s of sets) out.push(`${type}:${Object.keys(s).sort().join(",")}`);
  }
  return [...new Set(out)].sort();
}

Deno.test({
  name:
    "the compiled binary's one-shot output matches deno task start's (needs DENORT_BIN: a denort runtime)",
  ignore: !denortUsable,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "pgql-compile-" });
    try {
      const output = join(dir, "pgquerylens-collector");
      const built = await compileTask({ DENORT_BIN: denort! }, ["--output", output]);
      assert.equal(built.code, 0, built.stderr);
      const version = decoder.decode(
        (await new Deno.Command(output, { args: ["-show_version"] }).output()).stdout,
      );
      assert.match(
        version,
        /^pgquerylens-collector Version: \S+, Platform: linux\/\S+, DenoVersion: \S+, Target: \S+, GitCommit: [0-9a-f]{12}/,
      );
      await using cluster = await startCluster({ name: "compiled", preload: ["pg_stat_statements"] });
      await cluster.createExtension("postgres", "pg_stat_statements");
      const run = async (cmd: string, args: string[]) => {
        await using state = await testStateDir("test-compiled");
        const out = await new Deno.Command(cmd, {
          args,
          cwd: REPO_ROOT,
          clearEnv: true,
          env: {
            ...clusterEnv(cluster, cluster.superuser, cluster.password),
            ENABLE_QUERY_MONITORING: "true",
            TEMP_DIR: state.path,
            PGQUERYLENS_OS_METRICS: "on",
          },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(out.code, 0, decoder.decode(out.stderr));
        return decoder.decode(out.stdout);
      };
      const fromTask = await run(Deno.execPath(), startTaskArgs());
      const fromBinary = await run(output, []);
      assert.deepEqual(shape(fromBinary), shape(fromTask));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

if (!denortUsable) {
  console.error(
    `compile_test: no denort runtime (DENORT_BIN ${
      denort ? `=${denort} is not one` : "unset"
    }): the compiled ` +
      "binary is checked for its embedded content only, not run",
  );
}
