import assert from "node:assert/strict";
import { join } from "node:path";
import {
  evictFromPageCache,
  isMounted,
  mountTracefs,
  privateInstall,
  TRACEFS_DIR,
  withoutCapabilities,
} from "./ebpf.ts";
import { debianServer, serverById } from "./servers.ts";

if (Deno.uid() !== 0) throw new Error("tests/support/ebpf_test.ts mounts tracefs: run it as root");

Deno.test("privateInstall copies the binaries, links the modules, and removes the copy", async () => {
  const base = debianServer();
  const install = await privateInstall(base);
  try {
    assert.equal(install.server.binDir, join(install.dir, "bin"));
    assert.equal(install.server.extensionDir, base.extensionDir);
    assert.equal(Deno.realPathSync(install.server.pkgLibDir), Deno.realPathSync(base.pkgLibDir));
    const copy = Deno.statSync(join(install.server.binDir, "postgres"));
    const original = Deno.statSync(join(base.binDir, "postgres"));
    assert.notEqual(copy.ino, original.ino, "another inode: probes on it trap no other cluster");
    assert.equal(copy.size, original.size);
    assert.equal(copy.mode! & 0o777, 0o755);
    const out = await new Deno.Command(join(install.server.binDir, "postgres"), { args: ["--version"] })
      .output();
    assert.match(new TextDecoder().decode(out.stdout), /^postgres \(PostgreSQL\) 15\./);
  } finally {
    await install.remove();
    await install.remove();
  }
  assert.throws(() => Deno.statSync(install.dir), Deno.errors.NotFound);
});

Deno.test("privateInstall refuses an install whose modules are not beside its binaries", async () => {
  let embedded;
  try {
    embedded = serverById("pg16");
  } catch {
    embedded = { ...debianServer(), libDir: "/opt/pg/lib" };
  }
  await assert.rejects(() => privateInstall(embedded), /needs an install with bin\/ and lib\/ side by side/);
});

Deno.test("mountTracefs mounts tracefs only when it is not mounted, and unmounts only its own mount", async () => {
  const before = await isMounted(TRACEFS_DIR, "tracefs");
  {
    await using outer = await mountTracefs();
    assert.equal(outer.mountedHere, !before);
    assert.equal(await isMounted(TRACEFS_DIR, "tracefs"), true);
    {
      await using inner = await mountTracefs();
      assert.equal(inner.mountedHere, false);
    }
    assert.equal(await isMounted(TRACEFS_DIR, "tracefs"), true, "the inner one did not unmount");
  }
  assert.equal(await isMounted(TRACEFS_DIR, "tracefs"), before);
});

Deno.test("evictFromPageCache drops a file's pages; a missing file is an error naming it", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeFile(file, new Uint8Array(1 << 20).fill(7));
    await evictFromPageCache([file]);
    assert.equal((await Deno.readFile(file)).length, 1 << 20);
  } finally {
    await Deno.remove(file);
  }
  await assert.rejects(() => evictFromPageCache(["/nonexistent/file"]), /cannot evict \/nonexistent\/file/);
});

Deno.test("withoutCapabilities runs a command as the same user without any capability", async () => {
  const [cmd, args] = withoutCapabilities("grep", ["-E", "^(Uid|CapEff|CapBnd):", "/proc/self/status"]);
  const out = await new Deno.Command(cmd, { args, stdout: "piped" }).output();
  assert.equal(out.code, 0);
  const text = new TextDecoder().decode(out.stdout);
  assert.match(text, /^Uid:\s+0\s/m);
  assert.match(text, /^CapEff:\s+0000000000000000$/m);
  assert.match(text, /^CapBnd:\s+0000000000000000$/m);
});
