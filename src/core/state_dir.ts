/**
 * The state directory (`temp_dir`): where one-shot runs keep what the next run needs (rate values,
 * OTLP series start times). Files are written atomically and readable by their owner only.
 *
 * @module
 */

/** The state directory or a file in it cannot be used; the message names the path. */
export class StateDirError extends Error {
  /** The path that could not be used. */
  readonly path: string;

  /** Creates the error for `path`. */
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StateDirError";
    this.path = path;
  }
}

/** The message of an error value. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Makes sure `dir` exists as a directory, creating it with mode 0700 when missing.
 *
 * @param what names the directory's use in messages (e.g. "rate state")
 * @throws {StateDirError} when it cannot be created or is not a directory
 */
export async function ensureStateDir(dir: string, what: string): Promise<void> {
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new StateDirError(`cannot use ${what} directory ${dir}: ${errorText(e)}`, dir, { cause: e });
    }
  }
  if (info !== undefined) {
    if (!info.isDirectory) {
      throw new StateDirError(`${what} directory ${dir} exists but is not a directory`, dir);
    }
    return;
  }
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.chmod(dir, 0o700);
  } catch (e) {
    throw new StateDirError(`cannot create ${what} directory ${dir}: ${errorText(e)}`, dir, { cause: e });
  }
}

/**
 * Replaces `path` with `text` atomically (a temporary file renamed over it), mode 0600.
 *
 * @param what names the file's use in messages
 * @throws {StateDirError} when it cannot be written; no temporary file is left behind
 */
export async function writeStateFile(path: string, text: string, what: string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text, { mode: 0o600 });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new StateDirError(`cannot write ${what} ${path}: ${errorText(e)}`, path, { cause: e });
  }
}
