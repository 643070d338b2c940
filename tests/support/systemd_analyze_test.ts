import assert from "node:assert/strict";
import {
  allowedSyscalls,
  analyze,
  envFileMismatches,
  security,
  stageUnit,
  syscallGroups,
} from "./systemd_analyze.ts";

const PROGRAM = "/opt/demo/bin/demo-daemon";
const BARE = `[Unit]
Description=demo

[Service]
ExecStart=${PROGRAM} --flag

[Install]
WantedBy=multi-user.target
`;

Deno.test("a staged unit verifies cleanly; an unknown key is reported", async () => {
  {
    await using unit = await stageUnit("demo.service", BARE, PROGRAM);
    const run = await analyze(["verify", "--man=no", unit.name], unit.dir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
  }
  await using unit = await stageUnit("demo.service", BARE, PROGRAM, {
    "extra.conf": "[Service]\nNoSuchSetting=yes\n",
  });
  const run = await analyze(["verify", "--man=no", unit.name], unit.dir);
  assert.match(run.stderr, /extra\.conf:2: Unknown key '?NoSuchSetting'? in section \[Service\]/);
});

Deno.test("stageUnit refuses a unit that does not run the program", async () => {
  await assert.rejects(
    () => stageUnit("demo.service", BARE, "/usr/bin/other"),
    /no ExecStart= runs \/usr\/bin\/other/,
  );
});

Deno.test("the unit's directory is removed on dispose", async () => {
  let dir: string;
  {
    await using unit = await stageUnit("demo.service", BARE, PROGRAM);
    dir = unit.dir;
    assert.ok((await Deno.stat(`${dir}/demo.service`)).isFile);
    assert.equal((await Deno.stat(`${dir}/bin/demo-daemon`)).mode! & 0o111, 0o111);
  }
  await assert.rejects(() => Deno.stat(dir), Deno.errors.NotFound);
});

Deno.test("security scores a bare unit as exposed and a sandboxed one lower", async () => {
  let bare;
  {
    await using unit = await stageUnit("demo.service", BARE, PROGRAM);
    bare = await security(unit);
  }
  assert.ok(bare.score >= 9, `bare unit scored ${bare.score}`);
  assert.ok(bare.exposures.some((e) => e.name === "PrivateNetwork=" && e.exposure > 0));
  await using unit = await stageUnit("demo.service", BARE, PROGRAM, {
    "sandbox.conf": "[Service]\nDynamicUser=yes\nPrivateNetwork=yes\nCapabilityBoundingSet=\n",
  });
  const boxed = await security(unit);
  assert.ok(boxed.score < bare.score, `${boxed.score} < ${bare.score}`);
  assert.ok(!boxed.exposures.some((e) => e.name === "PrivateNetwork="));
  const sum = boxed.exposures.reduce((s, e) => s + e.exposure, 0);
  assert.ok(sum > 0 && boxed.score > 0);
});

Deno.test("system call groups are expanded, nested groups included", async () => {
  const groups = await syscallGroups();
  const service = groups.get("@system-service")!;
  for (const call of ["read", "openat", "connect", "mmap", "futex"]) assert.ok(service.has(call), call);
  for (const call of groups.get("@basic-io")!) assert.ok(service.has(call), `@basic-io's ${call}`);
  assert.ok(!service.has("bpf"));
  assert.ok(groups.get("@privileged")!.has("bpf"));
});

Deno.test("allowedSyscalls combines allow and deny entries in order", async () => {
  const groups = await syscallGroups();
  const allowed = allowedSyscalls(["@basic-io", "~read write", "bpf"], groups)!;
  assert.ok(allowed.has("pread64") && allowed.has("bpf"));
  assert.ok(!allowed.has("read") && !allowed.has("write"));
  assert.ok(allowedSyscalls(["@basic-io", "~@basic-io"], groups)!.size === 0);
  assert.equal(allowedSyscalls(["~@mount"], groups), undefined, "a deny list is no allow list");
  assert.throws(
    () => allowedSyscalls(["@no-such-group"], groups),
    /unknown system call group @no-such-group/,
  );
});

Deno.test("envFileMismatches asks systemd what each variable holds", async () => {
  const text = 'A=\'x y\'\nB="q\\"r"\n';
  assert.deepEqual(await envFileMismatches(text, new Map([["A", "x y"], ["B", 'q"r']])), []);
  assert.deepEqual(await envFileMismatches(text, new Map([["A", "'x y'"], ["B", 'q"r']])), ["A"]);
  await assert.rejects(() => envFileMismatches(text, new Map([["A", ""]])), /empty value cannot be checked/);
});
