import assert from "node:assert/strict";
import {
  buildCommit,
  compileArgs,
  DEFAULT_OUTPUT,
  denortProblem,
  missingDenortMessage,
  missingNativePieces,
} from "./compile.ts";

Deno.test("the missing-runtime message names the release, the target and the file to fetch", () => {
  assert.equal(
    missingDenortMessage("2.9.6", "aarch64-unknown-linux-gnu"),
    "DENORT_BIN is not set. deno compile builds the binary on the denort runtime of the same Deno release " +
      "(2.9.6, aarch64-unknown-linux-gnu) and would download it from dl.deno.land, which is not reachable from " +
      "here.\nFetch https://dl.deno.land/release/v2.9.6/denort-aarch64-unknown-linux-gnu.zip on a machine that " +
      "can, unzip it, and run:\n  DENORT_BIN=/path/to/denort deno task compile",
  );
});

Deno.test("compile arguments are the start task's permission flags around main.ts", () => {
  assert.deepEqual(compileArgs("/x/out"), [
    "compile",
    "--no-prompt",
    "-P=collector",
    "--output",
    "/x/out",
    "main.ts",
  ]);
  assert.equal(DEFAULT_OUTPUT, "dist/pgquerylens-collector");
});

Deno.test("denortProblem refuses a directory, a file that is not executable and the deno CLI", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await denortProblem(dir), `DENORT_BIN=${dir} is not a file`);
    const plain = `${dir}/plain`;
    await Deno.writeTextFile(plain, "");
    assert.equal(await denortProblem(plain), `DENORT_BIN=${plain} is not executable`);
    assert.match((await denortProblem(Deno.execPath()))!, /is the deno CLI/);
    assert.equal(await denortProblem("/bin/true"), undefined, "anything else may be tried");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the build commit is the checkout's, marked dirty when it has changes", async () => {
  assert.match(await buildCommit(), /^([0-9a-f]{12}(-dirty)?|unknown)$/);
});

Deno.test("every native piece is built in this checkout (setup builds them)", async () => {
  assert.deepEqual(await missingNativePieces(), []);
});
