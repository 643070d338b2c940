import assert from "node:assert/strict";
import { FLOOR_LINE, FLOOR_MAIN } from "./floor_main.ts";

Deno.test("FLOOR_MAIN is the floor program's own file", async () => {
  assert.ok(FLOOR_MAIN.endsWith("/bench/lib/floor_main.ts"), FLOOR_MAIN);
  assert.ok((await Deno.stat(FLOOR_MAIN)).isFile);
});

Deno.test("the floor program prints its one line when it is the main module, nothing when imported", async () => {
  const run = async (code: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout);
  };
  const main = await new Deno.Command(Deno.execPath(), { args: ["run", FLOOR_MAIN], stdout: "piped" })
    .output();
  assert.equal(new TextDecoder().decode(main.stdout), `${FLOOR_LINE}\n`);
  assert.equal(await run(`await import(${JSON.stringify(FLOOR_MAIN)});`), "");
});
