/**
 * Build identity printed by `-show_version`. The compile task rewrites `build_info.json`
 * (commit and date); development runs report "dev".
 *
 * @module
 */

import info from "./build_info.json" with { type: "json" };

/** Version of the collector (also the NRI `integration_version`). */
export const VERSION: string = info.version;
/** Commit the binary was built from, or "dev". */
export const COMMIT: string = info.commit;
/** Build date (RFC 3339), or "dev". */
export const BUILD_DATE: string = info.buildDate;

/** The version line, in the shape of nri-postgresql's. */
export function versionLine(): string {
  return `pgquerylens-collector Version: ${VERSION}, Platform: ${Deno.build.os}/${Deno.build.arch}, ` +
    `DenoVersion: ${Deno.version.deno}, Target: ${Deno.build.target}, GitCommit: ${COMMIT}, BuildDate: ${BUILD_DATE}`;
}
