/**
 * The run loop: one cycle (one-shot) or cycles every `interval` seconds (daemon), each snapshot
 * handed to the output. Stops cleanly on SIGINT/SIGTERM.
 *
 * @module
 */

import type { Config } from "./config/types.ts";
import type { IssueReporter, Logger } from "./core/log.ts";
import { Collector } from "./collectors/cycle.ts";
import { initSqlParser } from "./query_engine/sql_text.ts";
import { writeNri } from "./nri_adapter/output.ts";

/** Runs the collector until done (one-shot) or stopped (daemon); resolves to the exit code. */
export async function runCollector(config: Config, logger: Logger, issues: IssueReporter): Promise<number> {
  if (config.mode !== "nri") {
    logger.log("error", `mode "${config.mode}": OTLP export is not part of this build yet; use --mode=nri`);
    return 1;
  }
  await initSqlParser();
  const collector = new Collector(config, issues);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (config.intervalSeconds !== undefined) {
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
  }
  try {
    do {
      const started = performance.now();
      const snap = await collector.collect();
      await writeNri(snap, config, logger);
      logger.log("debug", `cycle took ${Math.round(performance.now() - started)} ms`);
      if (config.intervalSeconds === undefined) break;
      const wait = Math.max(0, config.intervalSeconds * 1000 - (performance.now() - started));
      await sleep(wait, stop.signal);
    } while (!stop.signal.aborted);
  } finally {
    if (config.intervalSeconds !== undefined) {
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
    }
    await collector.close();
  }
  return 0;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
