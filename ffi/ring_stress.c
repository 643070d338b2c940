/*-------------------------------------------------------------------------
 *
 * ring_stress.c
 *		Stress harness of the pg_querylens rings, without PostgreSQL.
 *
 * The harness creates its own segment with the extension's layout (the same
 * header, the same section geometry, state READY) and plays the producers:
 * forked processes that each own some rings and append records at full speed
 * or at a given rate with the extension's seqlock protocol.  Every field of
 * record n of ring r is a deterministic function of (r, n) and the
 * generation (see build_record), so a reader can recompute a record and
 * detect any torn copy.  It can also play the postmaster's crash-restart
 * (kill the producers, state INITIALIZING, zero the rings, generation + 1,
 * READY) and replace the segment (unlink and create again), and it has a
 * reader of its own, built from the reader library's source, that verifies
 * every record it gets.
 *
 * Commands (all print one JSON object on stdout; errors go to stderr):
 *
 *	 create NAME	create a segment and exit
 *	 produce NAME	run producers for a duration or a record count, print heads
 *	 read NAME		read with the reader library, verify, print counts
 *	 run NAME		create + produce + read in one process tree, check that no
 *					torn record was accepted and that copied + lost = heads
 *	 bump NAME		crash-restart an idle segment (generation + 1)
 *	 replace NAME	unlink the segment and create one with the same geometry
 *	 unlink NAME	remove the segment
 *
 * Run it without arguments for the options.  Exit status: 0 success, 1 a
 * failed check or operation, 2 bad usage.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg_querylens_layout.h"
#include "querylens_reader.h"

#define MAX_PRODUCERS			64
#define SLOT_WORDS				(QL_SLOT_SIZE / 8)

typedef struct Options
{
	/* segment creation */
	uint64_t	rings;
	uint64_t	slots;
	uint64_t	state;
	uint64_t	magic;
	uint64_t	layout_version;
	uint64_t	slot_size;
	uint64_t	segment_size;	/* 0: the real size */
	uint64_t	file_mode;
	/* producers */
	uint64_t	producers;
	uint64_t	duration_ms;
	uint64_t	records;		/* per ring, 0: no limit */
	uint64_t	rate;			/* records per second per producer, 0: full speed */
	uint64_t	bump_after_ms;
	bool		create;
	/* reader */
	int32_t		read_mode;
	bool		publish;
	bool		verify;
	uint64_t	batch;
	uint64_t	sleep_us;
	uint64_t	passes;
} Options;

/* A mapped segment. */
typedef struct Segment
{
	uint8_t    *base;
	size_t		size;
} Segment;

/* What a reader loop saw. */
typedef struct ReadCounts
{
	uint64_t	copied;
	uint64_t	lost;
	uint64_t	torn;
	uint64_t	generation_changes;
	uint64_t	not_ready;
	uint64_t	calls;
	double		seconds;
	int32_t		status;			/* 0, or the status that stopped the loop */
} ReadCounts;

static const char *usage_text =
	"usage: ring_stress COMMAND NAME [options]\n"
	"  create NAME   [--rings N] [--slots N] [--state N] [--magic N] [--layout-version N]\n"
	"                [--slot-size N] [--segment-size N] [--file-mode OCTAL]\n"
	"  produce NAME  [--producers N] [--duration-ms N] [--records N] [--rate N]\n"
	"                [--bump-after-ms N] [--create --rings N --slots N]\n"
	"  read NAME     [--mode head|oldest|resume] [--publish] [--duration-ms N] [--batch N]\n"
	"                [--sleep-us N] [--passes N] [--no-verify]\n"
	"  run NAME      [--rings N] [--slots N] [--producers N] [--duration-ms N] [--rate N]\n"
	"                [--batch N] [--sleep-us N] [--no-verify]\n"
	"  bump NAME | replace NAME | unlink NAME\n"
	"Numbers accept 0x (hex) and leading-0 (octal) forms. read without --duration-ms stops\n"
	"when a call returns fewer records than fit; with it, it runs for that long.\n";

static void
fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "ring_stress: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static void
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ring_stress: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	exit(2);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static int64_t
epoch_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t) (ns / 1000000000), .tv_nsec = (long) (ns % 1000000000)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Record contents: a 32-bit hash of (ring, n, k) for field k.  The reader
 * side (this file's verify_record and the TypeScript stress test) computes
 * the same values.
 */
static inline uint32_t
fmix32(uint32_t h)
{
	h ^= h >> 16;
	h *= UINT32_C(0x85ebca6b);
	h ^= h >> 13;
	h *= UINT32_C(0xc2b2ae35);
	h ^= h >> 16;
	return h;
}

static inline uint32_t
field_hash(uint32_t ring, uint64_t n, uint32_t k)
{
	uint32_t	inner = (uint32_t) (n >> 32) + ring * UINT32_C(0x9e3779b9) + k * UINT32_C(0x7feb352d);

	return fmix32((uint32_t) n ^ fmix32(inner));
}

/* A u64 below 2^53 (exact as a JavaScript number) from fields k and k + 1. */
static inline uint64_t
field_u53(uint32_t ring, uint64_t n, uint32_t k)
{
	return ((uint64_t) (field_hash(ring, n, k) & 0x1fffff) << 32) | field_hash(ring, n, k + 1);
}

/* A full u64 from fields k and k + 1. */
static inline uint64_t
field_u64(uint32_t ring, uint64_t n, uint32_t k)
{
	return ((uint64_t) field_hash(ring, n, k) << 32) | field_hash(ring, n, k + 1);
}

/* Record n of ring in generation gen32, exactly as a producer stores it. */
static void
build_record(QlRecord *rec, uint32_t ring, uint64_t n, uint32_t gen32)
{
	uint64_t   *counters = &rec->duration_ns;
	uint32_t   *times = &rec->shared_read_us;

	memset(rec, 0, sizeof(*rec));
	rec->seq = 2 * n + 2;
	rec->type = (field_hash(ring, n, 0) & 7) == 0 ? QL_REC_ERROR : QL_REC_QUERY;
	rec->rec_version = QL_REC_VERSION;
	rec->nesting_level = (uint8_t) field_hash(ring, n, 1);
	rec->cmd_type = (uint8_t) field_hash(ring, n, 2);
	rec->flags = field_hash(ring, n, 3);
	rec->pid = (int32_t) (field_hash(ring, n, 4) & 0x3fffffff);
	rec->dbid = field_hash(ring, n, 5);
	rec->userid = field_hash(ring, n, 6);
	rec->generation = gen32;
	rec->exec_seq = field_u64(ring, n, 7);
	rec->queryid = field_u64(ring, n, 9);
	rec->planid = field_u64(ring, n, 11);
	rec->parent_queryid = field_u64(ring, n, 13);
	rec->start_us = (int64_t) field_u53(ring, n, 15);
	/* duration_ns .. wal_fpi: 15 consecutive u64 counters */
	for (uint32_t j = 0; j < 15; j++)
		counters[j] = field_u53(ring, n, 17 + 2 * j);
	/* shared_read_us .. cpu_sys_us: 8 consecutive u32 times */
	for (uint32_t j = 0; j < 8; j++)
		times[j] = field_hash(ring, n, 47 + j);
	for (uint32_t j = 0; j < QL_WAIT_CLASSES; j++)
		rec->wait_samples[j] = (uint16_t) field_hash(ring, n, 55 + j);
	rec->wait_event_last = field_hash(ring, n, 63);
	rec->sqlstate = rec->type == QL_REC_ERROR ? (field_hash(ring, n, 64) & 0x3fffffff) : 0;
	rec->reserved = 0;
}

_Static_assert(offsetof(QlRecord, wal_fpi) - offsetof(QlRecord, duration_ns) == 14 * 8,
			   "duration_ns .. wal_fpi are 15 consecutive u64");
_Static_assert(offsetof(QlRecord, cpu_sys_us) - offsetof(QlRecord, shared_read_us) == 7 * 4,
			   "shared_read_us .. cpu_sys_us are 8 consecutive u32");

/*
 * Is a copied record exactly record n of its ring (n and the ring taken from
 * the copy's seq and reserved words) in generation gen32?
 */
static bool
verify_record(const uint8_t *copy, uint32_t nrings, uint32_t gen32)
{
	QlRecord	expect;
	QlRecord	got;

	memcpy(&got, copy, sizeof(got));
	if (got.seq < 2 || (got.seq & 1) != 0 || got.reserved >= nrings)
		return false;
	build_record(&expect, (uint32_t) got.reserved, got.seq / 2 - 1, gen32);
	expect.reserved = got.reserved;
	return memcmp(&expect, &got, sizeof(got)) == 0;
}

/* Section sizes of a segment of nrings rings of spr slots, per the layout header. */
static void
fill_geometry(QlGlobalHeader *h, uint32_t nrings, uint32_t spr)
{
	h->header_size = QL_HEADER_SIZE;
	h->slot_size = QL_SLOT_SIZE;
	h->slots_per_ring = spr;
	h->nrings = nrings;
	h->reader_page_size = (uint32_t) QL_PAGE_ROUND(sizeof(QlReaderPage) + 8 * (uint64_t) nrings);
	h->reader_page_offset = QL_HEADER_SIZE;
	h->ring_headers_offset = h->reader_page_offset + h->reader_page_size;
	h->procs_offset = h->ring_headers_offset + QL_PAGE_ROUND((uint64_t) nrings * QL_RING_HEADER_SIZE);
	h->slots_offset = h->procs_offset + QL_PAGE_ROUND((uint64_t) nrings * QL_PROC_SLOT_SIZE);
	h->segment_size = h->slots_offset + QL_PAGE_ROUND((uint64_t) nrings * spr * QL_SLOT_SIZE);
}

static void
map_segment_rw(const char *name, Segment *seg)
{
	struct stat st;
	int			fd = shm_open(name, O_RDWR, 0);

	if (fd < 0)
		fail("cannot open segment %s", name);
	if (fstat(fd, &st) != 0 || st.st_size < QL_HEADER_SIZE)
		fail("segment %s is too small", name);
	seg->size = (size_t) st.st_size;
	seg->base = mmap(NULL, seg->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (seg->base == MAP_FAILED)
		fail("cannot map segment %s", name);
}

/* Creates a segment as the postmaster does; the options may falsify the header for tests. */
static void
create_segment(const char *name, const Options *o, Segment *seg)
{
	QlGlobalHeader h = {0};
	uint64_t	real_size;
	int			fd;

	if (o->rings == 0 || o->rings > 4096)
		usage_error("--rings must be 1..4096%s", "");
	if (o->slots == 0 || o->slots > (1 << 24) || (o->slots & (o->slots - 1)) != 0)
		usage_error("--slots must be a power of two up to 2^24%s", "");
	fill_geometry(&h, (uint32_t) o->rings, (uint32_t) o->slots);
	real_size = h.segment_size;
	h.magic = o->magic;
	h.layout_version = (uint32_t) o->layout_version;
	h.slot_size = (uint32_t) o->slot_size;
	if (o->segment_size != 0)
		h.segment_size = o->segment_size;
	h.state = (uint32_t) o->state;
	h.generation = 1;
	h.system_identifier = UINT64_C(7000000000000000001);
	h.postmaster_start_us = epoch_us();
	h.postmaster_pid = (int32_t) getpid();
	h.pg_version_num = 0;
	h.blcksz = 8192;
	h.sample_period_ms = 0;
	h.cpu_sample_every = 1;
	snprintf(h.segment_name, sizeof(h.segment_name), "%s", name);

	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		fail("cannot create segment %s (does it exist already?)", name);
	if (fchmod(fd, (mode_t) o->file_mode) != 0 || ftruncate(fd, (off_t) real_size) != 0)
		fail("cannot size segment %s", name);
	seg->size = real_size;
	seg->base = mmap(NULL, real_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (seg->base == MAP_FAILED)
		fail("cannot map segment %s", name);
	memcpy(seg->base, &h, sizeof(h));
	atomic_thread_fence(memory_order_seq_cst);
}

static QlGlobalHeader *
header_of(const Segment *seg)
{
	return (QlGlobalHeader *) seg->base;
}

static QlRingHeader *
ring_header(const Segment *seg, uint32_t ring)
{
	return (QlRingHeader *) (seg->base + header_of(seg)->ring_headers_offset) + ring;
}

static uint64_t
load_u64(const void *p)
{
	return atomic_load_explicit((const _Atomic uint64_t *) p, memory_order_acquire);
}

/* The postmaster's crash-restart: INITIALIZING, zero the rings, generation + 1, READY. */
static void
bump_generation(const Segment *seg)
{
	QlGlobalHeader *h = header_of(seg);

	atomic_store_explicit((_Atomic uint32_t *) &h->state, QL_STATE_INITIALIZING, memory_order_seq_cst);
	memset(seg->base + h->ring_headers_offset, 0, (size_t) h->nrings * QL_RING_HEADER_SIZE);
	memset(seg->base + h->procs_offset, 0, (size_t) h->nrings * QL_PROC_SLOT_SIZE);
	memset(seg->base + h->slots_offset, 0, (size_t) h->nrings * h->slots_per_ring * QL_SLOT_SIZE);
	atomic_store_explicit((_Atomic uint64_t *) &h->generation, h->generation + 1, memory_order_seq_cst);
	atomic_store_explicit((_Atomic uint32_t *) &h->state, QL_STATE_READY, memory_order_seq_cst);
}

/* Appends record n to ring with the extension's seqlock protocol. */
static void
write_record(const Segment *seg, uint32_t ring, uint64_t n, uint32_t gen32)
{
	QlGlobalHeader *h = header_of(seg);
	QlRingHeader *rh = ring_header(seg, ring);
	uint8_t    *slot = seg->base + h->slots_offset +
		((uint64_t) ring * h->slots_per_ring + (n & (h->slots_per_ring - 1))) * QL_SLOT_SIZE;
	_Atomic uint64_t *words = (_Atomic uint64_t *) slot;
	const QlReaderPage *page = (const QlReaderPage *) (seg->base + h->reader_page_offset);
	QlRecord	rec;
	uint64_t	src[SLOT_WORDS];

	build_record(&rec, ring, n, gen32);
	memcpy(src, &rec, sizeof(src));

	/* overwriting a record the attached reader has not read yet? */
	if (n >= h->slots_per_ring &&
		atomic_load_explicit((const _Atomic int32_t *) &page->reader_pid, memory_order_relaxed) != 0 &&
		load_u64(&page->cursors[ring]) <= n - h->slots_per_ring)
		rh->overwritten_unread++;

	atomic_store_explicit(&words[0], 2 * n + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (int i = 1; i < SLOT_WORDS; i++)
		atomic_store_explicit(&words[i], src[i], memory_order_relaxed);
	atomic_store_explicit(&words[0], 2 * n + 2, memory_order_release);
	atomic_store_explicit((_Atomic uint64_t *) &rh->head, n + 1, memory_order_release);
}

/*
 * One producer: owns rings p, p + P, p + 2P, ... and appends to them in turn
 * until the deadline or until each has records more records.
 */
static void
producer_loop(const Segment *seg, uint32_t p, const Options *o, uint64_t deadline)
{
	QlGlobalHeader *h = header_of(seg);
	uint32_t	gen32 = (uint32_t) load_u64(&h->generation);
	uint32_t	nrings = h->nrings;
	uint32_t	owned = 0;
	uint64_t	start = now_ns();
	uint64_t	written = 0;
	uint64_t	first_head[4096];

	if (nrings > 4096)
		fail("%s has more rings than the harness drives", h->segment_name);
	for (uint32_t r = p; r < nrings; r += (uint32_t) o->producers)
	{
		first_head[owned++] = load_u64(&ring_header(seg, r)->head);
		ring_header(seg, r)->pid = (int32_t) getpid();
	}
	if (owned == 0)
		return;
	for (;;)
	{
		for (uint32_t k = 0; k < owned; k++)
		{
			uint32_t	r = p + k * (uint32_t) o->producers;
			uint64_t	n = load_u64(&ring_header(seg, r)->head);

			if (o->records != 0 && n - first_head[k] >= o->records)
				return;
			write_record(seg, r, n, gen32);
			written++;
		}
		if ((written & 63) < owned)
		{
			uint64_t	t = now_ns();

			if (o->duration_ms != 0 && t >= deadline)
				return;
			if (o->rate != 0)
			{
				uint64_t	due = (t - start) / 1000 * o->rate / 1000000;

				if (written > due)
					sleep_ns((written - due) * UINT64_C(1000000000) / o->rate);
			}
		}
	}
}

static void
spawn_producers(const Segment *seg, const Options *o, uint64_t deadline, pid_t *pids)
{
	for (uint32_t p = 0; p < o->producers; p++)
	{
		pid_t		pid = fork();

		if (pid < 0)
			fail("fork failed: %s", strerror(errno));
		if (pid == 0)
		{
			producer_loop(seg, p, o, deadline);
			_exit(0);
		}
		pids[p] = pid;
	}
}

/* Waits for the producers; returns how many did not exit with status 0. */
static int
wait_producers(const Options *o, pid_t *pids)
{
	int			bad = 0;

	for (uint32_t p = 0; p < o->producers; p++)
	{
		int			status;

		while (waitpid(pids[p], &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	return bad;
}

static void
kill_producers(const Options *o, pid_t *pids)
{
	for (uint32_t p = 0; p < o->producers; p++)
		kill(pids[p], SIGKILL);
	wait_producers(o, pids);
}

static void
print_heads(const Segment *seg)
{
	QlGlobalHeader *h = header_of(seg);
	uint64_t	sum = 0;
	uint64_t	unread = 0;

	printf("\"generation\":%" PRIu64 ",\"nrings\":%u,\"slots_per_ring\":%u,\"heads\":[",
		   load_u64(&h->generation), h->nrings, h->slots_per_ring);
	for (uint32_t r = 0; r < h->nrings; r++)
	{
		uint64_t	head = load_u64(&ring_header(seg, r)->head);

		printf("%s%" PRIu64, r == 0 ? "" : ",", head);
		sum += head;
		unread += ring_header(seg, r)->overwritten_unread;
	}
	printf("],\"written\":%" PRIu64 ",\"overwritten_unread\":%" PRIu64, sum, unread);
}

/*
 * Reader loop over an open reader; closes it.  Without producers_done it
 * stops after duration_ms, or (without a duration) when a call returns fewer
 * records than fit; with it, at the first such call that started after the
 * flag was set.
 */
static ReadCounts
read_records(qlr_reader *r, const Options *o, volatile sig_atomic_t *producers_done)
{
	ReadCounts	c = {0};
	uint8_t		stats[QLR_STATS_SIZE];
	uint64_t	st[QLR_STAT_WORDS];
	uint32_t	room = (uint32_t) o->batch;
	uint8_t    *buf = malloc((size_t) room * QL_SLOT_SIZE);
	uint64_t	start;
	uint64_t	deadline;
	uint32_t	nrings;
	uint8_t		hdr[sizeof(QlGlobalHeader)];

	if (buf == NULL)
		fail("out of memory for %s", "the read buffer");
	qlr_header(r, hdr, sizeof(hdr));
	nrings = ((QlGlobalHeader *) hdr)->nrings;
	start = now_ns();
	deadline = start + o->duration_ms * UINT64_C(1000000);
	for (;;)
	{
		/* the producers' last records are visible to a call that starts after they exit */
		bool		final = producers_done != NULL && *producers_done;
		int32_t		got = qlr_read(r, buf, room * QL_SLOT_SIZE, stats);
		uint32_t	gen32;

		c.calls++;
		memcpy(st, stats, sizeof(st));
		gen32 = (uint32_t) st[QLR_STAT_GENERATION];
		if (got == QLR_GENERATION_CHANGED)
		{
			c.generation_changes++;
			continue;
		}
		if (got == QLR_NOT_READY)
		{
			c.not_ready++;
			if (o->duration_ms == 0 && producers_done == NULL)
				break;
			sleep_ns(1000000);
		}
		else if (got < 0)
		{
			c.status = got;
			break;
		}
		else
		{
			c.copied += (uint64_t) got;
			c.lost += st[QLR_STAT_LOST];
			if (o->verify)
				for (int32_t i = 0; i < got; i++)
					if (!verify_record(buf + (size_t) i * QL_SLOT_SIZE, nrings, gen32))
						c.torn++;
			if ((uint32_t) got < room)
			{
				/* caught up */
				if (producers_done != NULL)
				{
					if (final)
						break;
				}
				else if (o->duration_ms == 0)
					break;
			}
		}
		if (producers_done == NULL && o->duration_ms != 0 && now_ns() >= deadline)
			break;
		if (o->sleep_us != 0)
			sleep_ns(o->sleep_us * 1000);
	}
	c.seconds = (double) (now_ns() - start) / 1e9;
	qlr_close(r);
	free(buf);
	return c;
}

static void
print_counts(const ReadCounts *c)
{
	printf("\"copied\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"torn\":%" PRIu64
		   ",\"generation_changes\":%" PRIu64 ",\"not_ready\":%" PRIu64 ",\"calls\":%" PRIu64
		   ",\"seconds\":%.6f,\"records_per_second\":%.0f,\"status\":%d",
		   c->copied, c->lost, c->torn, c->generation_changes, c->not_ready, c->calls, c->seconds,
		   c->seconds > 0 ? (double) c->copied / c->seconds : 0.0, c->status);
}

static int
cmd_create(const char *name, const Options *o)
{
	Segment		seg;

	create_segment(name, o, &seg);
	printf("{\"name\":\"%s\",\"segment_size\":%zu,", name, seg.size);
	print_heads(&seg);
	printf("}\n");
	return 0;
}

static int
cmd_produce(const char *name, const Options *o)
{
	Segment		seg;
	pid_t		pids[MAX_PRODUCERS];
	uint64_t	start = now_ns();
	uint64_t	deadline = start + o->duration_ms * UINT64_C(1000000);
	uint64_t	bumps = 0;
	int			bad;

	if (o->duration_ms == 0 && o->records == 0)
		usage_error("produce needs --duration-ms or --records%s", "");
	if (o->create)
		create_segment(name, o, &seg);
	else
		map_segment_rw(name, &seg);
	spawn_producers(&seg, o, deadline, pids);
	if (o->bump_after_ms != 0 && (o->duration_ms == 0 || o->bump_after_ms < o->duration_ms))
	{
		sleep_ns(o->bump_after_ms * UINT64_C(1000000));
		kill_producers(o, pids);
		bump_generation(&seg);
		bumps++;
		spawn_producers(&seg, o, deadline, pids);
	}
	bad = wait_producers(o, pids);
	printf("{\"name\":\"%s\",\"bumps\":%" PRIu64 ",\"seconds\":%.6f,", name, bumps,
		   (double) (now_ns() - start) / 1e9);
	print_heads(&seg);
	printf("}\n");
	if (bad != 0)
		fail("%s", "a producer failed");
	return 0;
}

static int
cmd_read(const char *name, const Options *o)
{
	ReadCounts	total = {0};
	Segment		seg;

	for (uint64_t pass = 0; pass < o->passes; pass++)
	{
		int32_t		err = 0;
		qlr_reader *r = qlr_open(name, o->read_mode, o->publish, &err);
		ReadCounts	c = {.status = err};

		if (r != NULL)
			c = read_records(r, o, NULL);

		total.copied += c.copied;
		total.lost += c.lost;
		total.torn += c.torn;
		total.generation_changes += c.generation_changes;
		total.not_ready += c.not_ready;
		total.calls += c.calls;
		total.seconds += c.seconds;
		total.status = c.status;
		if (c.status != 0)
			break;
	}
	printf("{\"name\":\"%s\",\"passes\":%" PRIu64 ",", name, o->passes);
	print_counts(&total);
	if (total.status == 0 || total.status == QLR_REPLACED)
	{
		int			fd = shm_open(name, O_RDONLY, 0);
		struct stat st;

		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size >= QL_HEADER_SIZE)
		{
			seg.size = (size_t) st.st_size;
			seg.base = mmap(NULL, seg.size, PROT_READ, MAP_SHARED, fd, 0);
			if (seg.base != MAP_FAILED)
			{
				printf(",");
				print_heads(&seg);
			}
		}
		if (fd >= 0)
			close(fd);
	}
	printf("}\n");
	return total.status == 0 && total.torn == 0 ? 0 : 1;
}

static volatile sig_atomic_t producers_exited = 0;

static void
on_child(int sig)
{
	(void) sig;
	producers_exited = 1;
}

static int
cmd_run(const char *name, const Options *o)
{
	Segment		seg;
	pid_t		pids[MAX_PRODUCERS];
	pid_t		waiter;
	ReadCounts	c;
	Options		ro = *o;
	qlr_reader *r;
	int32_t		err = 0;
	uint64_t	sum = 0;
	bool		ok;

	create_segment(name, o, &seg);
	/* opened before any record exists, so copied + lost must equal the heads */
	r = qlr_open(name, QLR_MODE_OLDEST, true, &err);
	if (r == NULL)
		fail("the reader cannot open %s", name);

	/*
	 * A child process waits for the producers, so the reader (this process)
	 * learns that they are done from one SIGCHLD.
	 */
	signal(SIGCHLD, on_child);
	waiter = fork();
	if (waiter < 0)
		fail("fork failed: %s", strerror(errno));
	if (waiter == 0)
	{
		signal(SIGCHLD, SIG_DFL);
		spawn_producers(&seg, o, now_ns() + o->duration_ms * UINT64_C(1000000), pids);
		_exit(wait_producers(o, pids) == 0 ? 0 : 1);
	}
	ro.duration_ms = 0;
	c = read_records(r, &ro, &producers_exited);
	{
		int			status;

		while (waitpid(waiter, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail("%s", "the producers failed");
	}
	for (uint32_t r = 0; r < header_of(&seg)->nrings; r++)
		sum += load_u64(&ring_header(&seg, r)->head);
	ok = c.status == 0 && c.torn == 0 && c.copied + c.lost == sum;
	printf("{\"name\":\"%s\",\"ok\":%s,", name, ok ? "true" : "false");
	print_counts(&c);
	printf(",");
	print_heads(&seg);
	printf("}\n");
	shm_unlink(name);
	return ok ? 0 : 1;
}

static int
cmd_bump(const char *name)
{
	Segment		seg;

	map_segment_rw(name, &seg);
	bump_generation(&seg);
	printf("{\"name\":\"%s\",", name);
	print_heads(&seg);
	printf("}\n");
	return 0;
}

static int
cmd_replace(const char *name, const Options *defaults)
{
	Segment		old;
	Segment		seg;
	Options		o = *defaults;

	map_segment_rw(name, &old);
	o.rings = header_of(&old)->nrings;
	o.slots = header_of(&old)->slots_per_ring;
	munmap(old.base, old.size);
	if (shm_unlink(name) != 0)
		fail("cannot unlink segment %s", name);
	create_segment(name, &o, &seg);
	printf("{\"name\":\"%s\",", name);
	print_heads(&seg);
	printf("}\n");
	return 0;
}

static int
cmd_unlink(const char *name)
{
	bool		removed = shm_unlink(name) == 0;

	printf("{\"name\":\"%s\",\"unlinked\":%s}\n", name, removed ? "true" : "false");
	return 0;
}

static uint64_t
parse_number(const char *opt, const char *text)
{
	char	   *end;
	unsigned long long v;

	if (text == NULL)
		usage_error("%s needs a value", opt);
	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
		usage_error("bad number for option %s", opt);
	return (uint64_t) v;
}

static void
parse_options(int argc, char **argv, Options *o)
{
	for (int i = 0; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--create") == 0)
			o->create = true;
		else if (strcmp(a, "--publish") == 0)
			o->publish = true;
		else if (strcmp(a, "--no-verify") == 0)
			o->verify = false;
		else if (strcmp(a, "--mode") == 0)
		{
			if (v == NULL)
				usage_error("%s needs a value", a);
			if (strcmp(v, "head") == 0)
				o->read_mode = QLR_MODE_HEAD;
			else if (strcmp(v, "oldest") == 0)
				o->read_mode = QLR_MODE_OLDEST;
			else if (strcmp(v, "resume") == 0)
				o->read_mode = QLR_MODE_RESUME;
			else
				usage_error("--mode must be head, oldest or resume, got %s", v);
			i++;
		}
		else
		{
			uint64_t   *dst = NULL;

			if (strcmp(a, "--rings") == 0)
				dst = &o->rings;
			else if (strcmp(a, "--slots") == 0)
				dst = &o->slots;
			else if (strcmp(a, "--state") == 0)
				dst = &o->state;
			else if (strcmp(a, "--magic") == 0)
				dst = &o->magic;
			else if (strcmp(a, "--layout-version") == 0)
				dst = &o->layout_version;
			else if (strcmp(a, "--slot-size") == 0)
				dst = &o->slot_size;
			else if (strcmp(a, "--segment-size") == 0)
				dst = &o->segment_size;
			else if (strcmp(a, "--file-mode") == 0)
				dst = &o->file_mode;
			else if (strcmp(a, "--producers") == 0)
				dst = &o->producers;
			else if (strcmp(a, "--duration-ms") == 0)
				dst = &o->duration_ms;
			else if (strcmp(a, "--records") == 0)
				dst = &o->records;
			else if (strcmp(a, "--rate") == 0)
				dst = &o->rate;
			else if (strcmp(a, "--bump-after-ms") == 0)
				dst = &o->bump_after_ms;
			else if (strcmp(a, "--batch") == 0)
				dst = &o->batch;
			else if (strcmp(a, "--sleep-us") == 0)
				dst = &o->sleep_us;
			else if (strcmp(a, "--passes") == 0)
				dst = &o->passes;
			else
				usage_error("unknown option %s", a);
			*dst = parse_number(a, v);
			i++;
		}
	}
	if (o->producers == 0 || o->producers > MAX_PRODUCERS)
		usage_error("--producers must be 1..64%s", "");
	if (o->batch == 0 || o->batch > 1 << 20)
		usage_error("--batch must be 1..1048576%s", "");
	if (o->passes == 0)
		usage_error("--passes must be at least 1%s", "");
}

int
main(int argc, char **argv)
{
	Options		o = {
		.rings = 8,
		.slots = 1024,
		.state = QL_STATE_READY,
		.magic = QL_MAGIC,
		.layout_version = QL_LAYOUT_VERSION,
		.slot_size = QL_SLOT_SIZE,
		.file_mode = 0600,
		.producers = 2,
		.duration_ms = 0,
		.read_mode = QLR_MODE_OLDEST,
		.verify = true,
		.batch = 4096,
		.passes = 1,
	};
	const char *cmd;
	const char *name;

	if (argc < 3)
		usage_error("%s", "missing command or segment name");
	cmd = argv[1];
	name = argv[2];
	if (name[0] != '/' || strlen(name) >= 64 || strchr(name + 1, '/') != NULL)
		usage_error("segment name must look like /name (one slash, under 64 bytes): %s", name);
	parse_options(argc - 3, argv + 3, &o);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	if (strcmp(cmd, "create") == 0)
		return cmd_create(name, &o);
	if (strcmp(cmd, "produce") == 0)
		return cmd_produce(name, &o);
	if (strcmp(cmd, "read") == 0)
		return cmd_read(name, &o);
	if (strcmp(cmd, "run") == 0)
	{
		if (o.duration_ms == 0)
			o.duration_ms = 1000;
		return cmd_run(name, &o);
	}
	if (strcmp(cmd, "bump") == 0)
		return cmd_bump(name);
	if (strcmp(cmd, "replace") == 0)
		return cmd_replace(name, &o);
	if (strcmp(cmd, "unlink") == 0)
		return cmd_unlink(name);
	usage_error("unknown command %s", cmd);
	return 2;
}
