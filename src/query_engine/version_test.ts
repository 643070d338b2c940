import assert from "node:assert/strict";
import { parseServerVersion, versionFromNum } from "./version.ts";

Deno.test("parses Debian, Ubuntu and pre-release version strings", () => {
  assert.deepEqual(parseServerVersion("15.18 (Debian 15.18-0+deb12u1)"), {
    major: 15,
    minor: 18,
    patch: 0,
    num: 150018,
  });
  assert.deepEqual(parseServerVersion("10.4 (Ubuntu 10.4-2.pgdg16.04+1)"), {
    major: 10,
    minor: 4,
    patch: 0,
    num: 100004,
  });
  assert.deepEqual(parseServerVersion("9.6.24"), { major: 9, minor: 6, patch: 24, num: 90624 });
  assert.equal(parseServerVersion("18beta1").major, 18);
  assert.equal(parseServerVersion("17devel").num, 170000);
});

Deno.test("rejects strings without a version, naming the string", () => {
  assert.throws(() => parseServerVersion("PgBouncer"), /cannot parse PostgreSQL server version "PgBouncer"/);
});

Deno.test("decodes server_version_num for old and new numbering", () => {
  assert.deepEqual(versionFromNum(170004), { major: 17, minor: 4, patch: 0, num: 170004 });
  assert.deepEqual(versionFromNum(90624), { major: 9, minor: 6, patch: 24, num: 90624 });
  assert.throws(() => versionFromNum(12));
});
