import assert from "node:assert/strict";
import { main } from "./run.ts";

Deno.test("main refuses a benchmark name it does not know, listing the known ones", async () => {
  await assert.rejects(main(["no_such_bench"]), /no benchmark named "no_such_bench"; known: .*qpm_cycle/);
});
