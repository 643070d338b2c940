/**
 * Private state directories for collector processes in tests, below the state roots the collector's
 * permission set lets it write and load native code from: /tmp/pgquerylens for root, and
 * /var/lib/pgquerylens for the OS user `nobody` (whose directory it owns).
 *
 * @module
 */

import { join } from "node:path";

/** uid and gid of `nobody` on Debian. */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

/** A state directory that removes itself on dispose. */
export interface TestStateDir extends AsyncDisposable {
  /** Its path. */
  path: string;
}

/** Creates a fresh 0700 state directory for root, or for `nobody` when `asNobody`. */
export async function testStateDir(prefix: string, asNobody = false): Promise<TestStateDir> {
  const root = asNobody ? "/var/lib/pgquerylens" : "/tmp/pgquerylens";
  await Deno.mkdir(root, { recursive: true, mode: asNobody ? 0o711 : 0o700 });
  const path = join(root, `${prefix}-${crypto.randomUUID()}`);
  await Deno.mkdir(path, { mode: 0o700 });
  if (asNobody) await Deno.chown(path, NOBODY.uid, NOBODY.gid);
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
