import assert from "node:assert/strict";
import { NOBODY, testStateDir } from "./state_root.ts";

Deno.test("testStateDir makes a private directory below the state root and removes it", async () => {
  let path = "";
  {
    await using dir = await testStateDir("test-state-root");
    path = dir.path;
    assert.ok(path.startsWith("/tmp/pgquerylens/test-state-root-"));
    const info = await Deno.lstat(path);
    assert.equal((info.mode ?? 0) & 0o777, 0o700);
    assert.equal(info.uid, Deno.uid());
  }
  await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
});

Deno.test({
  name: "testStateDir for nobody lives below /var/lib/pgquerylens and belongs to nobody",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using dir = await testStateDir("test-state-root", true);
    assert.ok(dir.path.startsWith("/var/lib/pgquerylens/test-state-root-"));
    const info = await Deno.lstat(dir.path);
    assert.equal(info.uid, NOBODY.uid);
    assert.equal(info.gid, NOBODY.gid);
  },
});
