/**
 * `pgquerylens-collector`: collects from one PostgreSQL instance and prints New Relic
 * infrastructure protocol documents on stdout (logs on stderr), exports OTLP (`--mode=otel`), or
 * both from one collection (`--mode=hybrid`).
 *
 * Without `--interval` it runs one cycle and exits, as the infrastructure agent runs
 * integrations; with it, it keeps collecting until SIGINT or SIGTERM.
 *
 * Exit codes: 0 success, 1 invalid configuration (including OTLP settings and their certificate), 70
 * an unexpected failure.
 *
 * @module
 */

import { clearParserEnv, loadConfig, usage, wantsHelp } from "./src/config/mod.ts";
import { type CustomQueryDef, loadCustomQueries } from "./src/collectors/custom/config_file.ts";
import { ConfigError } from "./src/config/types.ts";
import { createLogger, explainPermission, IssueReporter } from "./src/core/log.ts";
import { runCollector } from "./src/run.ts";
import { type OtelSettings, resolveOtelSettings } from "./src/otel_adapter/settings.ts";
import { VERSION, versionLine } from "./src/version.ts";
import { installNativeAssets } from "./src/extensions/native_install.ts";

/** Runs the CLI with `argv`; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(usage("pgquerylens-collector"));
    return 0;
  }
  clearParserEnv((name) => Deno.env.delete(name));
  let loaded;
  let customQueries: CustomQueryDef[] = [];
  let otelSettings: OtelSettings | undefined;
  try {
    const env = (name: string) => Deno.env.get(name);
    loaded = loadConfig(argv, { env, readTextFile: Deno.readTextFileSync });
    const file = loaded.config.customMetricsConfig;
    if (file !== "" && !loaded.config.showVersion) {
      customQueries = loadCustomQueries(file, Deno.readTextFileSync);
    }
    if (loaded.config.mode !== "nri") otelSettings = resolveOtelSettings(loaded.config.otel, env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`[ERROR] ${e.message}`);
      return 1;
    }
    throw e;
  }
  const { config, warnings } = loaded;
  if (config.showVersion) {
    console.log(versionLine());
    return 0;
  }
  const logger = createLogger(config.verbose ? "debug" : "info");
  for (const w of warnings) logger.log("warn", w);
  const native = await installNativeAssets(config.tempDir, VERSION);
  if (native.dir !== undefined) logger.log("debug", `native libraries in ${native.dir}`);
  for (const problem of new Set(Object.values(native.problems))) logger.log("debug", problem);
  return await runCollector(config, logger, new IssueReporter(logger), { customQueries, otelSettings });
}

/**
 * Exit code of an unexpected failure (EX_SOFTWARE): distinct from 1, invalid configuration, so that a
 * supervisor can restart after a crash and not after a configuration error.
 */
export const EXIT_UNEXPECTED = 70;

/** Runs `run` (the CLI by default) and turns an unexpected exception into a logged error and exit 70. */
export async function runMain(
  argv: string[],
  run: (argv: string[]) => Promise<number> = main,
  write: (line: string) => void = (line) => console.error(line),
): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    write(
      explainPermission(
        `[ERROR] unexpected failure: ${e instanceof Error ? e.stack ?? e.message : String(e)}`,
      ),
    );
    return EXIT_UNEXPECTED;
  }
}

if (import.meta.main) Deno.exit(await runMain(Deno.args));
