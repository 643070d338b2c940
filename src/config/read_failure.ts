/**
 * Why a configuration-side file (the TOML file, the password file, the custom query file) could not
 * be read, worded for an operator. The collector runs with read access limited to a few
 * directories, so a file elsewhere fails with a permission error that would otherwise tell the
 * operator to pass a runtime flag the compiled binary does not take.
 *
 * @module
 */

/** Directories holding configuration the collector may read (the `read` permission lists them). */
export const CONFIG_DIRS: readonly string[] = [
  "/etc/pgquerylens",
  "/etc/newrelic-infra",
  "/tmp/pgquerylens",
  "/var/lib/pgquerylens",
];

/** The reason `err`, thrown by reading a file, gives: a sentence without a trailing period. */
export function readFailure(err: unknown): string {
  if (err instanceof Deno.errors.NotCapable) {
    return `the file is outside the directories the collector may read (${CONFIG_DIRS.join(", ")})`;
  }
  if (err instanceof Deno.errors.NotFound) return "no such file";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied by the file system";
  if (err instanceof Deno.errors.IsADirectory) return "it is a directory";
  return err instanceof Error ? err.message : String(err);
}
