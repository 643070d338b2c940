import assert from "node:assert/strict";
import { BUILD_DATE, COMMIT, VERSION, versionLine } from "./version.ts";
import info from "./build_info.json" with { type: "json" };
import denoJson from "../deno.json" with { type: "json" };

Deno.test("versionLine has nri-postgresql's shape with this build's identity", () => {
  const m =
    /^pgquerylens-collector Version: (.+), Platform: (\w+)\/(\w+), DenoVersion: (\S+), Target: (\S+), GitCommit: (\S+), BuildDate: (\S+)$/
      .exec(versionLine());
  assert.ok(m, versionLine());
  assert.deepEqual(m.slice(1), [
    VERSION,
    Deno.build.os,
    Deno.build.arch,
    Deno.version.deno,
    Deno.build.target,
    COMMIT,
    BUILD_DATE,
  ]);
  assert.ok(!versionLine().includes("\n"));
});

Deno.test("build identity comes from build_info.json and matches the package version", () => {
  assert.deepEqual([VERSION, COMMIT, BUILD_DATE], [info.version, info.commit, info.buildDate]);
  assert.equal(VERSION, denoJson.version);
  assert.match(VERSION, /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/);
  if (COMMIT !== "dev") assert.match(COMMIT, /^[0-9a-f]{7,40}$/);
  if (BUILD_DATE !== "dev") assert.ok(!Number.isNaN(Date.parse(BUILD_DATE)), BUILD_DATE);
});
