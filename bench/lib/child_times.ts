/**
 * CPU time of a command at millisecond resolution.
 *
 * GNU time prints user and system time with two decimals, so a process that runs for 20 ms of CPU
 * may show as 0.00. Running the command under `bash -c CHILD_TIMES_SCRIPT` makes bash write its
 * `times` report (rusage of the children it waited for, to the millisecond) to a file once the
 * command ends; {@link parseChildTimes} reads that file back.
 *
 * @module
 */

/** Path of bash. */
export const BASH_BINARY = "/bin/bash";

/**
 * The `bash -c` script: its first argument is the report file, the rest the command. It runs the
 * command, writes `times` to the file and exits with the command's status (128+N after signal N).
 */
export const CHILD_TIMES_SCRIPT = 'out=$1; shift; "$@"; status=$?; times > "$out"; exit $status';

/** CPU time of the children a shell waited for. */
export interface ChildTimes {
  /** CPU time in user mode, milliseconds. */
  userMs: number;
  /** CPU time in kernel mode, milliseconds. */
  sysMs: number;
}

/** Milliseconds of one bash duration such as `1m2.345s` (decimal point or comma). */
function durationMs(text: string): number {
  const m = /^(\d+)m(\d+)(?:[.,](\d+))?s$/.exec(text);
  if (!m) throw new Error(`not a bash times duration: "${text}"`);
  const fractionMs = m[3] === undefined ? 0 : Number(`0.${m[3]}`) * 1000;
  return (Number(m[1]) * 60 + Number(m[2])) * 1000 + Math.round(fractionMs * 1000) / 1000;
}

/**
 * Parses what bash's `times` wrote: the second line holds the children's user and system time.
 *
 * @throws Error naming the problem when there is no second line or it is not two durations.
 */
export function parseChildTimes(text: string): ChildTimes {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (lines.length !== 2) {
    throw new Error(`bash times report must have 2 lines, got ${lines.length}: ${JSON.stringify(text)}`);
  }
  const fields = lines[1].split(/\s+/);
  if (fields.length !== 2) throw new Error(`bash times children line is not two durations: "${lines[1]}"`);
  return { userMs: durationMs(fields[0]), sysMs: durationMs(fields[1]) };
}
