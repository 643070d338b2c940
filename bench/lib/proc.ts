/**
 * Process tree lookups from Linux `/proc`.
 *
 * A process run under `/usr/bin/time` is a grandchild of the benchmark; to stop it (time itself
 * must keep running to write its report) the benchmark looks up time's children here.
 *
 * @module
 */

/**
 * The parent pid in a `/proc/<pid>/stat` line. The command name (field 2) is parenthesized and may
 * hold spaces or parentheses, so fields are counted after its last `)`.
 *
 * @throws Error when the line is not a stat line.
 */
export function parentPidOf(statLine: string): number {
  const close = statLine.lastIndexOf(")");
  const rest = close < 0 ? [] : statLine.slice(close + 1).trim().split(/\s+/);
  const ppid = Number(rest[1]);
  if (rest.length < 2 || !Number.isInteger(ppid)) {
    throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(statLine.slice(0, 120))}`);
  }
  return ppid;
}

/** Pids of the live processes whose parent is `pid`, ascending. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // exited while we looked
    }
    if (parentPidOf(stat) === pid) children.push(Number(entry.name));
  }
  return children.sort((a, b) => a - b);
}
