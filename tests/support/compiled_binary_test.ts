import assert from "node:assert/strict";
import { join } from "node:path";
import { readEmbedded } from "./compiled_binary.ts";

Deno.test("readEmbedded returns the metadata and files deno compile put in a binary", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pgql-embed-" });
  try {
    const payload = crypto.getRandomValues(new Uint8Array(3000));
    await Deno.mkdir(join(dir, "data"));
    await Deno.writeFile(join(dir, "data", "blob.bin"), payload);
    await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify({ unstable: ["raw-imports"] }));
    await Deno.writeTextFile(
      join(dir, "main.ts"),
      `const m = await import("./data/blob.bin", { with: { type: "bytes" } });\nconsole.log(m.default.length);\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["compile", "--no-prompt", "--allow-env=X_ONE", "--output", join(dir, "app"), "main.ts"],
      cwd: dir,
      env: { DENORT_BIN: Deno.execPath() },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const { metadata, files } = readEmbedded(await Deno.readFile(join(dir, "app")));
    assert.equal(metadata.entrypoint_key, "main.ts");
    const perms = metadata.permissions as Record<string, unknown>;
    assert.deepEqual(perms.allow_env, ["X_ONE"]);
    assert.equal(perms.prompt, false);
    assert.deepEqual(files.get("data/blob.bin"), payload);
    assert.ok(files.has("main.ts"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readEmbedded says so when a file is not a compiled binary", () => {
  assert.throws(() => readEmbedded(new Uint8Array(4096)), /no deno compile metadata/);
});
