/**
 * Keeping the password out of logs and messages.
 *
 * @module
 */

import type { Config } from "./types.ts";

/** What a secret is replaced with. */
export const REDACTED = "********";

/** A copy of `config` that is safe to log: the password (when set) is replaced by {@link REDACTED}. */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config);
  if (copy.password !== "") copy.password = REDACTED;
  return copy;
}

/**
 * `text` with every occurrence of each secret replaced by {@link REDACTED}. Secrets shorter than
 * four characters are left alone: replacing them would garble ordinary words without hiding much.
 */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.replaceAll(secret, REDACTED);
  }
  return out;
}
