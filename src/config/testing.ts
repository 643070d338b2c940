/**
 * Test helper for configuration errors.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConfigError } from "./types.ts";

/** Asserts that `fn` throws a ConfigError whose message contains every one of `parts`. */
export function assertConfigError(fn: () => unknown, ...parts: string[]): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  for (const part of parts) assert.ok(caught.message.includes(part), `"${caught.message}" lacks "${part}"`);
  return caught;
}
