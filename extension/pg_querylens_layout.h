/*-------------------------------------------------------------------------
 *
 * pg_querylens_layout.h
 *		Layout of the pg_querylens shared-memory segment, shared by the
 *		extension (the producers) and the ffi/ reader library.
 *
 * The postmaster creates one POSIX shared-memory object (shm_open + mmap)
 * named "/pg_querylens.<port>".  Backends inherit the mapping through fork.
 * External readers map it read-only, except for the reader page.
 *
 *	 offset 0                  global header (QL_HEADER_SIZE bytes, one page)
 *	 reader_page_offset        reader page: reader pid, heartbeat, one cursor
 *	                           per ring (the only page readers may write)
 *	 ring_headers_offset       nrings x QlRingHeader (64 bytes each)
 *	 procs_offset              nrings x QlProcSlot (64 bytes each): the
 *	                           current execution and the wait sampler's
 *	                           per-process class counters
 *	 slots_offset              nrings x slots_per_ring x QL_SLOT_SIZE bytes
 *
 * Every section starts on a page boundary.  All integers are native-endian
 * (little-endian on every supported platform) and naturally aligned.
 *
 * Ring i belongs to the process with proc number i (MyProcNumber on 17+,
 * MyProc->pgprocno before).  It has exactly one producer at a time, so the
 * hot path has no shared read-modify-write: record n of a ring goes into
 * slot (n & (slots_per_ring - 1)) under a per-slot seqlock:
 *
 *	 producer: seq = 2n+1; write barrier; copy payload; write barrier;
 *			   seq = 2n+2; write barrier; head = n+1
 *	 reader:   s1 = load-acquire(seq); copy; read barrier; s2 = load(seq);
 *			   accept only if s1 == s2 == 2n+2 and the record's generation
 *			   equals the header's
 *
 * A larger sequence number than expected means the slot was lapped: the
 * reader counts the gap as lost and resumes at head - slots_per_ring.  The
 * ring's head keeps growing across the backends that reuse a proc number;
 * it restarts at 0 only when the postmaster reinitializes shared memory
 * after a crash, which also zeroes every slot and increments generation.
 *
 * Bump QL_LAYOUT_VERSION on any change of this file's layout.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_QUERYLENS_LAYOUT_H
#define PG_QUERYLENS_LAYOUT_H

#include <stdint.h>

/* "PGQLENS\0" read as a little-endian uint64 */
#define QL_MAGIC				UINT64_C(0x00534E454C514750)
#define QL_LAYOUT_VERSION		1
#define QL_PAGE_SIZE			4096
#define QL_HEADER_SIZE			4096
#define QL_SLOT_SIZE			256
#define QL_RING_HEADER_SIZE		64
#define QL_PROC_SLOT_SIZE		64
#define QL_SEGMENT_PREFIX		"/pg_querylens."
#define QL_DISCOVERY_FILE		"pg_querylens.discovery"

/* QlGlobalHeader.state */
#define QL_STATE_INITIALIZING	0
#define QL_STATE_READY			1
#define QL_STATE_CLOSING		2

/* QlGlobalHeader.capabilities */
#define QL_CAP_CPU_THREAD		0x0001	/* pg_querylens.cpu = thread */
#define QL_CAP_CPU_SAMPLED		0x0002	/* pg_querylens.cpu = sampled */
#define QL_CAP_IO_TIMING		0x0004	/* track_io_timing was on at start */
#define QL_CAP_SAMPLER			0x0008	/* wait sampler registered */
#define QL_CAP_ERRORS			0x0010	/* error records enabled */

/* QlRecord.type */
#define QL_REC_QUERY			1	/* an execution that reached ExecutorEnd */
#define QL_REC_ERROR			2	/* an execution ended by an error */
#define QL_REC_VERSION			1

/* QlRecord.flags */
#define QL_FLAG_TOPLEVEL		0x0001	/* nesting level 0 */
#define QL_FLAG_QUERYID			0x0002	/* queryid computed by core */
#define QL_FLAG_CPU_VALID		0x0004	/* cpu_user_us/cpu_sys_us measured */
#define QL_FLAG_IO_TIMING		0x0008	/* I/O times measured */
#define QL_FLAG_WAITS			0x0010	/* wait sampler was running */
#define QL_FLAG_PLANID_CORE		0x0020	/* planid from PlannedStmt->planId */
#define QL_FLAG_PLAN_TRUNCATED	0x0040	/* plan walk hit the node cap */
#define QL_FLAG_ABORTED			0x0080	/* ended by transaction abort */

/* Wait classes of QlRecord.wait_samples and QlProcSlot.wait_counts */
#define QL_WAIT_CPU				0	/* executing, no wait event */
#define QL_WAIT_LWLOCK			1
#define QL_WAIT_LOCK			2
#define QL_WAIT_BUFFERPIN		3
#define QL_WAIT_IO				4
#define QL_WAIT_IPC				5
#define QL_WAIT_TIMEOUT			6
#define QL_WAIT_OTHER			7	/* Client, Activity, Extension, other */
#define QL_WAIT_CLASSES			8

/*
 * Global header: written by the postmaster (and the sampler's heartbeat),
 * read-only for everyone else.  state and generation are read with acquire
 * semantics; a reader rereads generation after copying records.
 */
typedef struct QlGlobalHeader
{
	uint64_t	magic;			/* 0: QL_MAGIC */
	uint32_t	layout_version; /* 8 */
	uint32_t	header_size;	/* 12: QL_HEADER_SIZE */
	uint32_t	slot_size;		/* 16: QL_SLOT_SIZE */
	uint32_t	slots_per_ring; /* 20: power of two */
	uint32_t	nrings;			/* 24 */
	uint32_t	state;			/* 28: QL_STATE_* */
	uint64_t	reader_page_offset; /* 32 */
	uint64_t	ring_headers_offset;	/* 40 */
	uint64_t	procs_offset;	/* 48 */
	uint64_t	slots_offset;	/* 56 */
	uint64_t	segment_size;	/* 64 */
	uint64_t	generation;		/* 72: bumped on every (re)initialization */
	uint64_t	system_identifier;	/* 80 */
	int64_t		postmaster_start_us;	/* 88: Unix epoch, microseconds */
	int32_t		postmaster_pid; /* 96 */
	uint32_t	pg_version_num; /* 100 */
	uint32_t	blcksz;			/* 104 */
	uint32_t	capabilities;	/* 108: QL_CAP_* */
	uint32_t	sample_period_ms;	/* 112 */
	uint32_t	cpu_sample_every;	/* 116: cpu = sampled: every Nth execution */
	uint64_t	sampler_heartbeat_us;	/* 120: last sampler pass, Unix epoch */
	uint64_t	sampler_passes; /* 128 */
	int32_t		sampler_pid;	/* 136: 0 when not running */
	uint32_t	reader_page_size;	/* 140 */
	char		segment_name[64];	/* 144: NUL-terminated */
	/* 208: reserved up to QL_HEADER_SIZE */
} QlGlobalHeader;

/*
 * Reader page: the one page an external reader maps writable.  Producers
 * only read cursors[], as advisory input to overwritten_unread.
 */
typedef struct QlReaderPage
{
	int32_t		reader_pid;		/* 0: 0 when no reader is attached */
	uint32_t	pad;			/* 4 */
	uint64_t	heartbeat_us;	/* 8: last read call, Unix epoch */
	uint64_t	records_read;	/* 16 */
	uint64_t	records_lost;	/* 24 */
	uint64_t	reserved[4];	/* 32: [0] generation the cursors belong to */
	uint64_t	cursors[];		/* 64: next expected record, one per ring */
} QlReaderPage;

/* Per-ring header, one cache line, written only by the ring's producer. */
typedef struct QlRingHeader
{
	uint64_t	head;			/* 0: next record number (release-stored) */
	uint64_t	overwritten_unread; /* 8: lapped records the reader had not read */
	uint64_t	dropped;		/* 16: executions not recorded (see README) */
	int32_t		pid;			/* 24: current producer, 0 when none */
	uint32_t	pad;			/* 28 */
	uint64_t	exec_seq;		/* 32: executions started by this ring's processes */
	uint64_t	reserved[3];	/* 40 */
} QlRingHeader;

/*
 * Per-process slot: the execution a process is running now (written by the
 * backend, read by the sampler) and the sampler's wait-class counters for
 * the process (written only by the sampler, read by the backend at
 * ExecutorStart and ExecutorEnd, whose difference is the execution's wait
 * breakdown).
 */
typedef struct QlProcSlot
{
	uint64_t	queryid;		/* 0: innermost running execution, 0 if idle */
	uint64_t	planid;			/* 8 */
	uint64_t	exec_seq;		/* 16 */
	uint32_t	wait_counts[QL_WAIT_CLASSES];	/* 24: sampler-owned */
	uint32_t	last_wait_event;	/* 56: last non-zero wait_event_info seen */
	uint32_t	last_wait_pass; /* 60: low 32 bits of sampler_passes then */
} QlProcSlot;

/*
 * One record.  A slot is exactly QL_SLOT_SIZE bytes: the seqlock word
 * followed by the payload.  The reader copies whole slots, seq included.
 *
 * queryid, planid and parent_queryid are 8 raw bytes: PostgreSQL shows
 * query ids as signed bigint, so readers decode them as int64.  Times are
 * nanoseconds except where the name says otherwise.  I/O times are valid
 * only with QL_FLAG_IO_TIMING, CPU times only with QL_FLAG_CPU_VALID.
 */
typedef struct QlRecord
{
	uint64_t	seq;			/* 0: seqlock word, 2n+2 when complete */
	uint8_t		type;			/* 8: QL_REC_* */
	uint8_t		rec_version;	/* 9: QL_REC_VERSION */
	uint8_t		nesting_level;	/* 10: 0 for top level */
	uint8_t		cmd_type;		/* 11: CmdType (1 SELECT, 2 UPDATE, 3 INSERT, 4 DELETE, ...) */
	uint32_t	flags;			/* 12: QL_FLAG_* */
	int32_t		pid;			/* 16 */
	uint32_t	dbid;			/* 20 */
	uint32_t	userid;			/* 24 */
	uint32_t	generation;		/* 28: low 32 bits of the header's generation */
	uint64_t	exec_seq;		/* 32: per-ring execution number */
	uint64_t	queryid;		/* 40 */
	uint64_t	planid;			/* 48 */
	uint64_t	parent_queryid; /* 56: the top-level execution's queryid */
	int64_t		start_us;		/* 64: Unix epoch, microseconds */
	uint64_t	duration_ns;	/* 72: ExecutorStart to ExecutorEnd (or abort) */
	uint64_t	rows;			/* 80: es_processed */
	uint64_t	shared_blks_hit;	/* 88 */
	uint64_t	shared_blks_read;	/* 96 */
	uint64_t	shared_blks_dirtied;	/* 104 */
	uint64_t	shared_blks_written;	/* 112 */
	uint64_t	local_blks_hit; /* 120 */
	uint64_t	local_blks_read;	/* 128 */
	uint64_t	local_blks_dirtied; /* 136 */
	uint64_t	local_blks_written; /* 144 */
	uint64_t	temp_blks_read; /* 152 */
	uint64_t	temp_blks_written;	/* 160: temp bytes = this x blcksz */
	uint64_t	wal_bytes;		/* 168 */
	uint64_t	wal_records;	/* 176 */
	uint64_t	wal_fpi;		/* 184 */
	uint32_t	shared_read_us; /* 192: shared (and local before 17) */
	uint32_t	shared_write_us;	/* 196 */
	uint32_t	local_read_us;	/* 200: 17+ only */
	uint32_t	local_write_us; /* 204: 17+ only */
	uint32_t	temp_read_us;	/* 208 */
	uint32_t	temp_write_us;	/* 212 */
	uint32_t	cpu_user_us;	/* 216 */
	uint32_t	cpu_sys_us;		/* 220 */
	uint16_t	wait_samples[QL_WAIT_CLASSES];	/* 224: sampler hits by class */
	uint32_t	wait_event_last;	/* 240: last wait_event_info sampled */
	uint32_t	sqlstate;		/* 244: packed SQLSTATE of an ERROR record */
	uint64_t	reserved;		/* 248: 0 in the ring; the reader library
								 * stores the ring index in its copies */
} QlRecord;

#ifdef __cplusplus
#define QL_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define QL_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

QL_STATIC_ASSERT(sizeof(QlRecord) == QL_SLOT_SIZE, "QlRecord must fill one slot");
QL_STATIC_ASSERT(sizeof(QlRingHeader) == QL_RING_HEADER_SIZE, "QlRingHeader is one cache line");
QL_STATIC_ASSERT(sizeof(QlProcSlot) == QL_PROC_SLOT_SIZE, "QlProcSlot is one cache line");
QL_STATIC_ASSERT(sizeof(QlGlobalHeader) <= QL_HEADER_SIZE, "QlGlobalHeader fits its page");
QL_STATIC_ASSERT(sizeof(QlReaderPage) == 64, "reader page cursors start at 64");

/* Size of a section of n entries of size each, rounded up to whole pages. */
#define QL_PAGE_ROUND(bytes) \
	((((uint64_t) (bytes)) + QL_PAGE_SIZE - 1) & ~((uint64_t) QL_PAGE_SIZE - 1))

#endif							/* PG_QUERYLENS_LAYOUT_H */
