/**
 * The infrastructure-agent config in deploy/newrelic runs pgquerylens with nri-postgresql's
 * environment: it parses, it keeps the integration's name, its `exec` is the collector, and every
 * variable in its `env` is one the collector reads and accepts.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ENV_NAMES, loadConfig } from "../src/config/mod.ts";

const text = await Deno.readTextFile(new URL("../deploy/newrelic/postgresql-config.yml", import.meta.url));

Deno.test("the agent config swaps the binary and keeps nri-postgresql's contract", () => {
  const doc = parse(text) as {
    integrations: {
      name: string;
      exec: string;
      env: Record<string, string>;
      interval: string;
      inventory_source: string;
    }[];
  };
  assert.equal(doc.integrations.length, 1);
  const it = doc.integrations[0];
  assert.equal(it.name, "nri-postgresql");
  assert.equal(it.exec, "/usr/local/bin/pgquerylens-collector");
  assert.equal(it.inventory_source, "config/postgresql");
  for (const name of Object.keys(it.env)) {
    assert.ok(ENV_NAMES.includes(name), `${name} is not read by the collector`);
  }
  for (const v of Object.values(it.env)) {
    assert.equal(typeof v, "string", "the agent passes env values as strings");
  }
  const { config } = loadConfig([], { env: (n) => it.env[n], readTextFile: () => "" });
  assert.equal(config.username, "newrelic");
  assert.equal(config.enableQueryMonitoring, true);
  assert.equal(config.collectionList, '["postgres"]');
  assert.equal(config.intervalSeconds, undefined, "the agent schedules runs: one cycle per start");
});

Deno.test("exactly one line differs from the nri-postgresql form of the same config", () => {
  const lines = text.split("\n").filter((l) => !l.trimStart().startsWith("#"));
  const changed = lines.filter((l) => /^\s*exec:/.test(l));
  assert.equal(changed.length, 1);
  const withoutExec = lines.filter((l) => !/^\s*exec:/.test(l)).join("\n");
  assert.ok(!withoutExec.includes("pgquerylens"), "nothing else names pgquerylens");
});
