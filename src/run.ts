/**
 * The run loop: one cycle (one-shot) or cycles every `interval` seconds (daemon), each snapshot
 * handed to the output. Stops cleanly on SIGINT/SIGTERM.
 *
 * @module
 */

import type { Config } from "./config/types.ts";
import type { IssueReporter, Logger } from "./core/log.ts";
import { Collector, type CollectorOptions } from "./collectors/cycle.ts";
import { initSqlParser } from "./query_engine/sql_text.ts";
import { writeNri } from "./nri_adapter/output.ts";
import { RateStore } from "./core/rates.ts";

/**
 * Runs the collector until done (one-shot) or stopped (daemon); resolves to the exit code.
 * `options` carries what was read at startup besides the configuration (the custom query file).
 */
export async function runCollector(
  config: Config,
  logger: Logger,
  issues: IssueReporter,
  options: CollectorOptions = {},
): Promise<number> {
  if (config.mode !== "nri") {
    logger.log("error", `mode "${config.mode}": OTLP export is not part of this build yet; use --mode=nri`);
    return 1;
  }
  // The parser (WebAssembly, ~100 ms of CPU and ~50 MiB to start) serves QPM only.
  if (config.enableQueryMonitoring) await initSqlParser();
  const rates = await openRateStore(config, logger);
  const collector = new Collector(config, issues, options);
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
      await writeNri(snap, config, logger, undefined, rates);
      if (config.intervalSeconds === undefined) await saveRates(rates, logger);
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

/**
 * The file name of the rate state of one instance: host and port, reduced to characters that are
 * safe in a file name.
 */
export function rateStateName(host: string, port: string): string {
  return `rates-${host}-${port}`.replace(/[^A-Za-z0-9._-]/g, "_");
}

/**
 * The rate state: in memory in daemon mode; in `temp_dir` for one-shot runs, which the agent starts
 * every interval. An unusable state directory is reported and rates are kept in memory, so the
 * run still publishes (first observations as 0).
 */
async function openRateStore(config: Config, logger: Logger): Promise<RateStore> {
  if (config.intervalSeconds !== undefined) return RateStore.memory(config.cacheTtlSeconds);
  try {
    const store = await RateStore.load(
      config.tempDir,
      rateStateName(config.hostname, config.port),
      config.cacheTtlSeconds,
    );
    if (store.loadReport?.kind === "corrupt") logger.log("warn", `rate state: ${store.loadReport.message}`);
    return store;
  } catch (e) {
    logger.log("error", `rate state: ${(e as Error).message}; rates start from zero this run`);
    return RateStore.memory(config.cacheTtlSeconds);
  }
}

async function saveRates(rates: RateStore, logger: Logger): Promise<void> {
  if (rates.path === undefined) return;
  try {
    await rates.save();
  } catch (e) {
    logger.log("error", `rate state: ${(e as Error).message}`);
  }
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
