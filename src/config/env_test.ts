import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { OPTIONS } from "./defaults.ts";
import { clearParserEnv, ENV_NAMES, readEnv } from "./env.ts";

/** An environment reader that, like the scoped `--allow-env`, refuses names outside ENV_NAMES. */
function scopedEnv(
  vars: Record<string, string>,
): { get: (name: string) => string | undefined; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    get(name) {
      if (!ENV_NAMES.includes(name)) throw new Error(`read of ${name} is not permitted`);
      asked.push(name);
      return vars[name];
    },
  };
}

Deno.test("ENV_NAMES is exactly the env permission of the collector in deno.json", () => {
  const permitted: string[] = denoJson.permissions.collector.env;
  assert.deepEqual([...ENV_NAMES].sort(), [...permitted].sort());
  assert.equal(new Set(ENV_NAMES).size, ENV_NAMES.length);
});

Deno.test("clearParserEnv removes the YAML parser's debug switches", () => {
  const removed: string[] = [];
  clearParserEnv((name) => removed.push(name));
  assert.deepEqual(removed, ["LOG_TOKENS", "LOG_STREAM"]);
});

Deno.test("ENV_NAMES covers every option's variable", () => {
  for (const o of OPTIONS) if (o.env !== undefined) assert.ok(ENV_NAMES.includes(o.env), o.env);
});

Deno.test("readEnv reads only permitted names and maps variables to options", () => {
  const env = scopedEnv({
    HOSTNAME: "db1",
    COLLECTION_LIST: '["shop"]',
    PRETTY: "true",
    PGQUERYLENS_MODE: "otel",
    PGQUERYLENS_STATEMENT_TIMEOUT: "2s",
    PATH: "/usr/bin",
  });
  const values = readEnv(env.get);
  assert.deepEqual(Object.fromEntries(values), {
    hostname: "db1",
    collection_list: '["shop"]',
    pretty: "true",
    mode: "otel",
    statement_timeout: "2s",
  });
  assert.ok(!env.asked.includes("PATH"));
  assert.deepEqual(
    [...env.asked].sort(),
    OPTIONS.flatMap((o) => (o.env ? [o.env] : [])).sort(),
  );
});

Deno.test("readEnv ignores empty variables", () => {
  const values = readEnv(scopedEnv({ HOSTNAME: "", PORT: "6432" }).get);
  assert.deepEqual(Object.fromEntries(values), { port: "6432" });
});

Deno.test("the pg_querylens variables are PGQUERYLENS_QUERYLENS and PGQUERYLENS_QUERYLENS_<KEY>", () => {
  const values = readEnv(
    scopedEnv({
      PGQUERYLENS_QUERYLENS: "on",
      PGQUERYLENS_QUERYLENS_SOURCE: "sql",
      PGQUERYLENS_QUERYLENS_SLOW_MS: "40",
      PGQUERYLENS_QUERYLENS_RATE_PER_SECOND: "7",
      PGQUERYLENS_QUERYLENS_BURST: "9",
      PGQUERYLENS_QUERYLENS_MAX_PER_CYCLE: "11",
      PGQUERYLENS_QUERYLENS_POLL_MS: "13",
    }).get,
  );
  assert.deepEqual(Object.fromEntries(values), {
    querylens: "on",
    querylens_source: "sql",
    querylens_slow_ms: "40",
    querylens_rate_per_second: "7",
    querylens_burst: "9",
    querylens_max_per_cycle: "11",
    querylens_poll_ms: "13",
  });
});

Deno.test("the active session history variables are PGQUERYLENS_ASH and PGQUERYLENS_ASH_<KEY>", () => {
  const values = readEnv(
    scopedEnv({
      PGQUERYLENS_ASH: "off",
      PGQUERYLENS_ASH_INTERVAL_MS: "200",
      PGQUERYLENS_ASH_RETENTION_SECONDS: "60",
      PGQUERYLENS_ASH_MAX_SAMPLES: "5000",
      PGQUERYLENS_ASH_ONESHOT_SAMPLES: "2",
    }).get,
  );
  assert.deepEqual(Object.fromEntries(values), {
    ash: "off",
    ash_interval_ms: "200",
    ash_retention_seconds: "60",
    ash_max_samples: "5000",
    ash_oneshot_samples: "2",
  });
});

Deno.test("the OS metrics variables are PGQUERYLENS_OS_METRICS and PGQUERYLENS_OS_ONESHOT_INTERVAL_MS", () => {
  const values = readEnv(
    scopedEnv({ PGQUERYLENS_OS_METRICS: "off", PGQUERYLENS_OS_ONESHOT_INTERVAL_MS: "500" }).get,
  );
  assert.deepEqual(Object.fromEntries(values), { os_metrics: "off", os_oneshot_interval_ms: "500" });
});

Deno.test("the eBPF tier variables are PGQUERYLENS_EBPF and PGQUERYLENS_EBPF_<KEY>", () => {
  const values = readEnv(
    scopedEnv({
      PGQUERYLENS_EBPF: "true",
      PGQUERYLENS_EBPF_THRESHOLD_MS: "0.5",
      PGQUERYLENS_EBPF_SAMPLE_EVERY: "8",
    }).get,
  );
  assert.deepEqual(Object.fromEntries(values), {
    ebpf: "true",
    ebpf_threshold_ms: "0.5",
    ebpf_sample_every: "8",
  });
});
