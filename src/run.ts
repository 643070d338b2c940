/**
 * The run loop: one cycle (one-shot) or cycles every `interval` seconds (daemon), each snapshot
 * handed to the outputs of the mode: NRI JSON on stdout, OTLP export, or both (hybrid). Stops
 * cleanly on SIGINT/SIGTERM.
 *
 * In hybrid mode both outputs work on the same snapshot and neither waits for the other: the OTLP
 * side only encodes and queues (sending happens in the background), and an NRI write failure is
 * logged without affecting the export.
 *
 * @module
 */

import type { Config } from "./config/types.ts";
import type { IssueReporter, Logger } from "./core/log.ts";
import { queryLensSummary } from "./collectors/querylens/summary.ts";
import { Collector, type CollectorOptions } from "./collectors/cycle.ts";
import { initSqlParser } from "./query_engine/sql_text.ts";
import { writeNri } from "./nri_adapter/output.ts";
import { RateStore } from "./core/rates.ts";
import { dateToNs } from "./otel_adapter/metrics.ts";
import { type OtelSettings, resolveOtelSettings } from "./otel_adapter/settings.ts";
import { openExport, type RunExport } from "./otel_adapter/run_export.ts";

/** What the run needs besides the configuration. */
export interface RunOptions extends CollectorOptions {
  /** Resolved OTLP settings (modes otel and hybrid); resolved from the environment when absent. */
  otelSettings?: OtelSettings;
}

/**
 * Runs the collector until done (one-shot) or stopped (daemon); resolves to the exit code: 0, or 1
 * when the OTLP export cannot be set up (e.g. its certificate file cannot be read).
 * `options` carries what was read at startup besides the configuration.
 */
export async function runCollector(
  config: Config,
  logger: Logger,
  issues: IssueReporter,
  options: RunOptions = {},
): Promise<number> {
  const startNs = dateToNs(new Date());
  let otel: RunExport | undefined;
  if (config.mode !== "nri") {
    try {
      const settings = options.otelSettings ?? resolveOtelSettings(config.otel, (n) => Deno.env.get(n));
      otel = await openExport(config, settings, logger, startNs);
    } catch (e) {
      logger.log("error", `OTLP export: ${(e as Error).message}`);
      return 1;
    }
  }
  // The parser (WebAssembly, ~100 ms of CPU and ~50 MiB to start) serves QPM only.
  if (config.enableQueryMonitoring) await initSqlParser();
  const nri = config.mode !== "otel";
  const rates = nri ? await openRateStore(config, logger) : undefined;
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
      const durationMs = performance.now() - started;
      const outputs: Promise<unknown>[] = [];
      if (rates !== undefined) {
        outputs.push(
          writeNri(snap, config, logger, undefined, rates).catch((e) =>
            logger.log("error", `NRI output failed: ${(e as Error).message}`)
          ),
        );
      }
      if (otel !== undefined) {
        outputs.push(Promise.resolve(otel).then((o) => o.exporter.exportSnapshot(snap, durationMs)));
      }
      await Promise.all(outputs);
      if (config.intervalSeconds === undefined && rates !== undefined) await saveRates(rates, logger);
      logger.log("debug", `cycle took ${Math.round(durationMs)} ms`);
      if (snap.queryLensStats) logger.log("debug", queryLensSummary(snap.queryLensStats));
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
    await otel?.finish();
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
