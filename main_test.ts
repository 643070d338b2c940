import assert from "node:assert/strict";
import { startCluster } from "./tests/support/cluster.ts";
import { clusterEnv, runCollectorFor, runCollectorProcess } from "./tests/support/collector.ts";
import { EXIT_UNEXPECTED, main, runMain } from "./main.ts";
import { MISSING_CREDENTIALS } from "./src/config/validate.ts";
import { versionLine } from "./src/version.ts";

Deno.test("main(-show_version) returns 0 without connecting", async () => {
  assert.equal(await main(["-show_version"]), 0);
});

Deno.test("the CLI as the compiled binary runs it", async (t) => {
  await t.step("-show_version prints the version line", async () => {
    const run = await runCollectorProcess(["-show_version"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, versionLine() + "\n");
  });

  await t.step("-help prints the usage and exits 0", async () => {
    for (const flag of ["-help", "--help", "-h"]) {
      const run = await runCollectorProcess([flag, "-port=not-a-port"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Usage of pgquerylens-collector:\n/);
      assert.match(run.stdout, /\n {2}-hostname value\n {8}.*\(env HOSTNAME\)\n/);
      assert.match(run.stdout, /\n {2}-enable_query_monitoring\n/);
    }
  });

  await t.step("an invalid value exits 1 naming the key and its source", async () => {
    const run = await runCollectorProcess(["-port=70000"], { USERNAME: "u", PASSWORD: "sekret-pw" });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(
      run.stderr,
      /^\[ERROR\] port \(flag -port\): must be an integer from 1 to 65535, got "70000"\n$/,
    );
    const env = await runCollectorProcess([], { USERNAME: "u", PASSWORD: "sekret-pw", TIMEOUT: "soon" });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /\[ERROR\] .*timeout.*TIMEOUT/i);
    assert.ok(!(run.stderr + env.stderr).includes("sekret-pw"), "the password never appears");
  });

  await t.step("missing credentials exit 1 with upstream's message", async () => {
    const run = await runCollectorProcess([], { HOSTNAME: "127.0.0.1" });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `[ERROR] ${MISSING_CREDENTIALS}\n`);
  });

  await t.step("a daemon run stops cleanly on SIGTERM", async () => {
    await using cluster = await startCluster({ name: "cli" });
    const started = performance.now();
    const run = await runCollectorFor(
      ["-interval=1", "-verbose"],
      clusterEnv(cluster, "postgres", cluster.password),
      3500,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(performance.now() - started < 10_000);
    const cycles = run.stderr.split("\n").filter((l) => l.startsWith("[DEBUG] cycle took")).length;
    assert.ok(cycles >= 2, run.stderr);
    assert.ok(!run.stderr.includes("[ERROR]"), run.stderr);
    assert.ok(!run.stderr.includes(cluster.password), "the password never appears");
  });
});

Deno.test("an unexpected exception exits 70 with the error logged, not 1 (invalid configuration)", async () => {
  const lines: string[] = [];
  const code = await runMain([], () => Promise.reject(new TypeError("boom")), (l) => lines.push(l));
  assert.equal(code, EXIT_UNEXPECTED);
  assert.equal(EXIT_UNEXPECTED, 70);
  assert.match(lines[0], /^\[ERROR\] unexpected failure: TypeError: boom\n {4}at /);
  assert.equal(await runMain(["-show_version"]), 0);
  assert.equal(await runMain(["-no_such_flag"]), 1);
});
