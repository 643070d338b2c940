/**
 * The floor of the start-up benchmark: the smallest program the runtime can start under the start
 * task's flags. Run as the main module it writes {@link FLOOR_LINE} to stdout and exits, so its
 * start-up time, peak RSS and CPU are what the runtime costs before any collector code runs.
 *
 * It lives in the repository because `-P=collector` names a permission set of the deno.json found
 * from the main module's directory.
 *
 * @module
 */

/** The line the floor program prints. */
export const FLOOR_LINE = "pgquerylens start-up floor";

/** Path of this program, for `deno run`. */
export const FLOOR_MAIN: string = new URL(import.meta.url).pathname;

if (import.meta.main) console.log(FLOOR_LINE);
