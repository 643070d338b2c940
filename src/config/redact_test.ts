import assert from "node:assert/strict";
import { defaultConfig } from "./defaults.ts";
import { redactConfig, REDACTED, scrubSecrets } from "./redact.ts";

Deno.test("redactConfig hides the password and leaves the original alone", () => {
  const config = { ...defaultConfig(), username: "monitor", password: "pw-8812-secret" };
  const safe = redactConfig(config);
  assert.equal(safe.password, REDACTED);
  assert.equal(REDACTED, "********");
  assert.equal(config.password, "pw-8812-secret");
  assert.ok(!JSON.stringify(safe).includes("pw-8812-secret"));
  assert.deepEqual({ ...safe, password: config.password }, config);
  safe.session.applicationName = "changed";
  assert.equal(config.session.applicationName, "pgquerylens");
});

Deno.test("redactConfig keeps an empty password empty", () => {
  assert.equal(redactConfig(defaultConfig()).password, "");
});

Deno.test("scrubSecrets replaces every occurrence of each secret", () => {
  assert.equal(
    scrubSecrets('bad "abcd1" and abcd1 again; xyz99', ["abcd1", "xyz99"]),
    `bad "${REDACTED}" and ${REDACTED} again; ${REDACTED}`,
  );
  assert.equal(scrubSecrets("port is a word", ["a", "is"]), "port is a word");
  assert.equal(scrubSecrets("nothing here", []), "nothing here");
});
