/**
 * PostgreSQL server version parsing.
 *
 * `server_version_num` is authoritative when available; `server_version` strings are parsed for
 * display and as a fallback, including distribution suffixes such as
 * `15.18 (Debian 15.18-0+deb12u1)` or `10.4 (Ubuntu 10.4-2.pgdg16.04+1)` and pre-releases such
 * as `18beta1` or `17devel`.
 *
 * @module
 */

/** A parsed server version. */
export interface ServerVersion {
  /** Major version (9 for 9.6, 15 for 15.4). */
  major: number;
  /** Minor version (6 for 9.6, 4 for 15.4); 0 for pre-releases. */
  minor: number;
  /** Patch level (only 9.x and older have one; 2 for 9.6.2). */
  patch: number;
  /** Numeric form as `server_version_num` would give it, e.g. 150004 or 90602. */
  num: number;
}

/**
 * Parses a `server_version` string.
 * @throws Error naming the string when no version number can be found in it
 */
export function parseServerVersion(text: string): ServerVersion {
  const m = /^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  if (!m) throw new Error(`cannot parse PostgreSQL server version "${text}"`);
  const major = Number(m[1]);
  const minor = m[2] === undefined ? 0 : Number(m[2]);
  const patch = m[3] === undefined ? 0 : Number(m[3]);
  const num = major >= 10 ? major * 10000 + minor : major * 10000 + minor * 100 + patch;
  return { major, minor, patch, num };
}

/** Builds a {@link ServerVersion} from `server_version_num` (e.g. "150004"). */
export function versionFromNum(num: number): ServerVersion {
  if (!Number.isInteger(num) || num < 10000) throw new Error(`invalid server_version_num ${num}`);
  const major = Math.floor(num / 10000);
  if (major >= 10) return { major, minor: num % 10000, patch: 0, num };
  return { major, minor: Math.floor((num % 10000) / 100), patch: num % 100, num };
}
