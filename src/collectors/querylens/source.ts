/**
 * Where pg_querylens records come from: the shared-memory rings mapped through the ffi/ library when
 * the collector runs on the database host, else the extension's SQL function.
 *
 * Both sources hand out batches of {@link QueryLensRecord}s with the number of records the rings
 * overwrote before they were read. The shared-memory source resumes from the cursors the previous
 * reader published in the segment (so a one-shot run continues where the last one stopped); when
 * the server replaced the segment (a restart) its poll fails with the reader's `replaced` error and
 * the caller opens a new source. The SQL source consumes under a named consumer whose cursors the
 * server keeps.
 *
 * @module
 */

import type { Session } from "../../query_engine/connection.ts";
import { openRingReader, type RingReader } from "../../extensions/querylens_ffi.ts";
import type { QueryLensRecord } from "../../extensions/querylens_record.ts";
import { readConsumerLost, readQueryLensRecords } from "../../extensions/querylens_sql.ts";

/** One poll's worth of records. */
export interface QueryLensBatch {
  /** Records read, in ring order. */
  records: QueryLensRecord[];
  /** Records overwritten before they could be read, since the previous poll. */
  lost: number;
  /** The server reinitialized its shared memory (a crash restart): earlier cursors were reset. */
  generationChanged: boolean;
}

/** A source of records. */
export interface QueryLensSource {
  /** `ffi` for the shared-memory reader, `sql` for `pg_querylens_read()`. */
  readonly kind: "ffi" | "sql";
  /** Reads what is new. Throws when the source is unusable (the caller reports and may reopen). */
  poll(): Promise<QueryLensBatch>;
  /** Releases the source; safe to call twice. */
  close(): void;
}

/** Most records one SQL poll consumes. */
export const SQL_POLL_ROWS = 20_000;

/** Most records one shared-memory poll copies. */
export const FFI_POLL_RECORDS = 200_000;

/** Options of {@link ffiSource}. */
export interface FfiSourceOptions {
  /** Path of the ffi/ library; the built-in default when absent. */
  libraryPath?: string;
  /** Where a new reader starts: the published cursors (`resume`, default) or each ring's head. */
  mode?: "resume" | "head" | "oldest";
  /**
   * Postmaster pid of the monitored server: a segment written by another postmaster (another
   * server on this host using the same port number) is refused.
   */
  postmasterPid?: number;
}

/** A source reading the segment `segmentName` through the ffi/ library; throws when it cannot open. */
export function ffiSource(segmentName: string, opts: FfiSourceOptions = {}): QueryLensSource {
  const open = (mode: "resume" | "head" | "oldest") => {
    const r = openRingReader(segmentName, { mode, publish: true, libraryPath: opts.libraryPath });
    const pid = r.header().postmasterPid;
    if (opts.postmasterPid !== undefined && pid !== opts.postmasterPid) {
      r.close();
      throw new Error(
        `the segment ${segmentName} on this host belongs to postmaster ${pid}, not to the monitored server's ${opts.postmasterPid}`,
      );
    }
    return r;
  };
  let reader: RingReader | undefined = open(opts.mode ?? "resume");
  return {
    kind: "ffi",
    poll() {
      if (!reader) return Promise.reject(new Error(`the reader of ${segmentName} is closed`));
      try {
        const r = reader.drain(FFI_POLL_RECORDS);
        return Promise.resolve({ records: r.records, lost: r.lost, generationChanged: r.generationChanged });
      } catch (e) {
        return Promise.reject(e);
      }
    },
    close() {
      reader?.close();
      reader = undefined;
    },
  };
}

/** A source consuming `pg_querylens_read()` as `consumer` from the extension in `schema`. */
export function sqlSource(sql: Session, schema: string, consumer: string): QueryLensSource {
  let lostBefore: bigint | undefined;
  return {
    kind: "sql",
    async poll() {
      const records: QueryLensRecord[] = [];
      for (;;) {
        const batch = await readQueryLensRecords(sql, schema, consumer, SQL_POLL_ROWS);
        records.push(...batch);
        if (batch.length < SQL_POLL_ROWS) break;
      }
      const lostNow = await readConsumerLost(sql, schema, consumer);
      const generationChanged = lostBefore !== undefined && lostNow < lostBefore;
      const lost = lostBefore === undefined || generationChanged ? 0 : Number(lostNow - lostBefore);
      lostBefore = lostNow;
      return { records, lost, generationChanged };
    },
    close() {},
  };
}
