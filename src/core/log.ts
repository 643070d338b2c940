/**
 * Logging to stderr (stdout belongs to the NRI documents), and reporting of collection issues
 * once per cause with a counter per component.
 *
 * @module
 */

import type { CollectionIssue } from "./model.ts";

/** Log levels, from most to least severe. */
export type LogLevel = "error" | "warn" | "info" | "debug";

/** A logger writing one line per message. */
export interface Logger {
  /** Logs at `level`. */
  log(level: LogLevel, message: string): void;
}

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

const RUN_AGAIN = /,? run again with the --allow-([a-z]+) flag/g;

/**
 * Rewrites the runtime's advice for a refused permission ("run again with the --allow-net flag"),
 * which a compiled binary cannot follow, into what it means here: the collector's fixed permission
 * set does not grant that access.
 */
export function explainPermission(message: string): string {
  return message.replace(
    RUN_AGAIN,
    (_, kind: string) => ` (refused: the collector's permission set does not grant this ${kind} access)`,
  );
}

/** A logger that writes `[LEVEL] message` lines through `write`, up to `maxLevel`. */
export function createLogger(
  maxLevel: LogLevel,
  write: (line: string) => void = (line) => console.error(line),
): Logger {
  return {
    log(level, message) {
      if (ORDER[level] <= ORDER[maxLevel]) write(`[${level.toUpperCase()}] ${explainPermission(message)}`);
    },
  };
}

/**
 * Reports issues: each distinct cause is logged once for the life of the process (so a missing
 * extension does not flood the log every cycle), and every occurrence is counted.
 */
export class IssueReporter {
  readonly #logger: Logger;
  readonly #seen = new Set<string>();
  readonly #counts = new Map<string, number>();

  /** @param logger where first occurrences are written */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Records `issue`; logs it the first time its component and cause are seen. */
  report(issue: CollectionIssue): void {
    const key = `${issue.component}\u0000${issue.cause}`;
    this.#counts.set(issue.component, (this.#counts.get(issue.component) ?? 0) + 1);
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const level: LogLevel = issue.severity === "error"
      ? "error"
      : issue.severity === "debug"
      ? "debug"
      : "warn";
    this.#logger.log(level, `${issue.component}: ${issue.message}`);
  }

  /** Occurrences per component since start. */
  counts(): ReadonlyMap<string, number> {
    return this.#counts;
  }
}
