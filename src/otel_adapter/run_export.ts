/**
 * The OTLP export over the life of a run: opened before the first cycle, finished when the run
 * ends.
 *
 * A one-shot run (the infrastructure agent starts one per interval) continues from the export
 * state saved in `temp_dir` and saves it again, then waits for its requests up to the export
 * timeout before exiting. A daemon keeps the state in memory and, when stopped, gives waiting
 * requests up to the same time. Requests still undelivered at exit are logged as a warning with
 * their count.
 *
 * @module
 */

import type { Config } from "../config/types.ts";
import type { Logger } from "../core/log.ts";
import { createOtelExporter, type OtelExporter, type OtelExporterOptions } from "./exporter.ts";
import type { OtelSettings } from "./settings.ts";
import { loadExportState, saveExportState } from "./state_store.ts";

/** Time a closing exporter gives each waiting request for its last attempt. */
export const CLOSE_GRACE_MS = 1_000;

/** The export of a run. */
export interface RunExport {
  /** The exporter cycles hand their snapshots to. */
  readonly exporter: OtelExporter;
  /** Delivers what is queued (within the export timeout), saves the state and closes. */
  finish(): Promise<void>;
}

/**
 * Opens the export of a run with `settings`.
 *
 * @param startNs start of the process (start time of the self-telemetry sums)
 * @param extra exporter options for tests (senders, backoff)
 * @throws Error when a sender cannot be created (e.g. an unreadable certificate file)
 */
export async function openExport(
  config: Config,
  settings: OtelSettings,
  logger: Logger,
  startNs: bigint,
  extra: Partial<OtelExporterOptions> = {},
): Promise<RunExport> {
  const oneShot = config.intervalSeconds === undefined;
  let statePath: string | undefined;
  let options: OtelExporterOptions = { ...extra, settings, logger, startNs };
  if (oneShot) {
    try {
      const loaded = await loadExportState(config.tempDir, config.hostname, config.port);
      if (loaded.problem !== undefined) logger.log("warn", loaded.problem);
      statePath = loaded.path;
      options = { ...options, state: loaded.state };
    } catch (e) {
      logger.log("error", `${(e as Error).message}; OTLP series start over this run`);
    }
  }
  const exporter = await createOtelExporter(options);
  const waitMs = Math.max(settings.transports.metrics.timeoutMs, settings.transports.logs.timeoutMs);
  return {
    exporter,
    async finish() {
      const delivered = await exporter.flush(waitMs);
      const pending = exporter.counters().queues;
      const left = pending.metrics.queued + pending.metrics.inFlight + pending.logs.queued +
        pending.logs.inFlight;
      if (statePath !== undefined) {
        try {
          await saveExportState(statePath, exporter.state());
        } catch (e) {
          logger.log("error", (e as Error).message);
        }
      }
      await exporter.close(CLOSE_GRACE_MS);
      if (!delivered && left > 0) {
        logger.log(
          "warn",
          `OTLP: ${left} request(s) undelivered at exit got one last attempt (receiver unreachable or slow)`,
        );
      }
      logger.log("debug", `OTLP at exit: ${JSON.stringify(exporter.counters().queues)}`);
    },
  };
}
