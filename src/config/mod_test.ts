import assert from "node:assert/strict";
import * as config from "./mod.ts";

Deno.test("mod re-exports the public API", () => {
  for (
    const name of [
      "loadConfig",
      "validateConfig",
      "parseCollectionList",
      "collectionDatabases",
      "parseDuration",
      "parseBool",
      "parseFlags",
      "wantsHelp",
      "usage",
      "readEnv",
      "readConfigFile",
      "parseConfigToml",
      "redactConfig",
      "scrubSecrets",
      "defaultConfig",
    ] as const
  ) {
    assert.equal(typeof config[name], "function", name);
  }
  assert.ok(config.ENV_NAMES.includes("PASSWORD"));
  assert.ok(config.OPTIONS.length > 40);
  assert.equal(new config.ConfigError("m", "k").key, "k");
});

Deno.test("mod: load, then redact for logging", () => {
  const { config: c, warnings } = config.loadConfig(["-username=u", "-collection_list=ALL"], {
    env: (name) => (name === "PASSWORD" ? "pw-mod-test" : undefined),
    readTextFile: () => {
      throw new Error("no files");
    },
  });
  assert.deepEqual(warnings, []);
  assert.equal(c.password, "pw-mod-test");
  assert.equal(config.collectionDatabases(config.parseCollectionList(c.collectionList)), "all");
  assert.ok(!JSON.stringify(config.redactConfig(c)).includes("pw-mod-test"));
});
