import assert from "node:assert/strict";
import { join } from "node:path";
import { benchmarkFiles, loadBenchmark, loadBenchmarks } from "./discover.ts";

const benchDir = join(import.meta.dirname!, "..");

async function withDir(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bench-discover-" });
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
    await Deno.mkdir(join(dir, "lib"));
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const module = (name: string) =>
  `export const benchmark = { name: "${name}", description: "d", run: () => Promise.resolve({ title: "${name}", rows: [], notes: [] }) };`;

Deno.test("benchmarkFiles lists the repository's benchmark modules but not the runner or tests", () => {
  const files = benchmarkFiles(benchDir);
  assert.ok(files.includes("qpm_cycle.ts"), files.join(","));
  assert.ok(!files.includes("run.ts"));
  assert.ok(files.every((f) => !f.endsWith("_test.ts")));
});

Deno.test("loadBenchmarks loads every module, or the named ones in order", async () => {
  await withDir({
    "b.ts": module("beta"),
    "a.ts": module("alpha"),
    "run.ts": "throw new Error('the runner must not be imported');",
    "a_test.ts": "throw new Error('tests must not be imported');",
    "notes.md": "not a module",
  }, async (dir) => {
    assert.deepEqual((await loadBenchmarks(dir)).map((b) => b.name), ["alpha", "beta"]);
    assert.deepEqual((await loadBenchmarks(dir, ["beta", "alpha"])).map((b) => b.name), ["beta", "alpha"]);
    await assert.rejects(loadBenchmarks(dir, ["gamma"]), /no benchmark named "gamma"; known: alpha, beta/);
    const report = await (await loadBenchmarks(dir, ["alpha"]))[0].run();
    assert.equal(report.title, "alpha");
  });
});

Deno.test("loadBenchmark names a module without a valid benchmark export", async () => {
  await withDir({
    "empty.ts": "export const other = 1;",
    "half.ts": 'export const benchmark = { name: "x" };',
  }, async (dir) => {
    await assert.rejects(loadBenchmark(join(dir, "empty.ts")), /empty\.ts exports no benchmark/);
    await assert.rejects(loadBenchmark(join(dir, "half.ts")), /half\.ts exports no benchmark/);
  });
});
