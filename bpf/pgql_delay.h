/*-------------------------------------------------------------------------
 *
 * pgql_delay.h
 *		What the per-query OS delay program (pgql_delay.bpf.c) and its loader
 *		(ffi/bpf_loader.c) share: the configuration the loader writes into
 *		the object's .rodata before loading, the event the program writes to
 *		its ring buffer, and the indexes of its counters.
 *
 * Every field is a fixed-size integer in the host's byte order; the event
 * has no implicit padding, so the collector decodes it at fixed offsets
 * (src/extensions/bpf_event.ts).  Change PGQL_ABI_VERSION whenever any of
 * this changes: the collector refuses a loader of another version.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQL_DELAY_H
#define PGQL_DELAY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Version of everything in this file. */
#define PGQL_ABI_VERSION 1

/* Bytes of query text kept per query (the text is cut there, NUL included). */
#define PGQL_TEXT_LEN 128

/* Event.protocol: which probes bounded the query. */
#define PGQL_PROTO_SIMPLE	1	/* query__start .. query__done */
#define PGQL_PROTO_EXTENDED 2	/* query__execute__start .. query__execute__done */

/* Event.flags. */
#define PGQL_EV_ABORTED		0x01	/* closed by a transaction abort, not by its done probe */
#define PGQL_EV_TEXT		0x02	/* text holds a prefix of the query text */

/*
 * Configuration, written by the loader into the object's read-only data
 * (variable pgql_cfg) before the programs are loaded, so the verifier sees
 * it as constants.
 */
struct pgql_config
{
	__u64		threshold_ns;	/* queries shorter than this are counted, not emitted */
	__u64		dqs_addr;		/* address of debug_query_string in the backends; 0: no text
								 * for the extended protocol */
	__u32		sample_every;	/* trace one query in this many (1: all) */
	__u32		postmaster_tgid;	/* only children of this process; 0: any process of the binary */
};

/* One traced query, written to the ring buffer when it closes. */
struct pgql_event
{
	__u32		pid;			/* backend process id */
	__u8		protocol;		/* PGQL_PROTO_* */
	__u8		flags;			/* PGQL_EV_* */
	__u16		text_len;		/* bytes of text before its NUL */
	__u64		start_ns;		/* opening probe, CLOCK_MONOTONIC */
	__u64		end_ns;			/* closing probe, CLOCK_MONOTONIC */
	__u64		oncpu_ns;		/* latency less the three waits below */
	__u64		runq_ns;		/* runnable but waiting for a CPU */
	__u64		io_ns;			/* switched out in D state (uninterruptible: block I/O) */
	__u64		sleep_ns;		/* switched out in S state (locks, latches, the client) */
	__u32		switches;		/* times the backend was switched out */
	__u32		reserved;
	char		text[PGQL_TEXT_LEN];
};

/* Counter indexes (a per-CPU array the loader sums). */
enum pgql_counter
{
	PGQL_C_HIT_QUERY_START = 0, /* probe hits, by probe */
	PGQL_C_HIT_QUERY_DONE,
	PGQL_C_HIT_EXEC_START,
	PGQL_C_HIT_EXEC_DONE,
	PGQL_C_HIT_ABORT,
	PGQL_C_HIT_ERROR,			/* AbortCurrentTransaction entries */
	PGQL_C_CLOSED,				/* traced queries closed */
	PGQL_C_EMITTED,				/* events written to the ring buffer */
	PGQL_C_BELOW_THRESHOLD,		/* closed queries shorter than the threshold */
	PGQL_C_RING_FULL,			/* events lost: the ring buffer was full */
	PGQL_C_ORPHANED,			/* queries never closed (replaced by the next one) */
	PGQL_C_UNSAMPLED,			/* queries left out by sample_every */
	PGQL_C_FOREIGN,				/* hits from processes of other postmasters */
	PGQL_C_INFLIGHT_FULL,		/* queries not traced: the in-flight map was full */
	PGQL_C_EXITED,				/* backends that exited with a query in flight */
	PGQL_C_NESTED,				/* execute probes inside a traced query */
	PGQL_NCOUNTERS
};

#endif							/* PGQL_DELAY_H */
