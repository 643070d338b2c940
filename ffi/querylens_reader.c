/*-------------------------------------------------------------------------
 *
 * querylens_reader.c
 *		Reader of the pg_querylens shared-memory rings, loaded by the
 *		collector with Deno.dlopen.
 *
 * The postmaster creates one POSIX shared-memory object per cluster (see
 * extension/pg_querylens_layout.h).  Every backend appends records to its
 * own ring under a per-slot seqlock and never waits for a reader; a ring
 * that is not drained in time is overwritten, oldest record first.  This
 * library is the reader side:
 *
 * - qlr_open maps the segment by name read-only, and, only when asked to
 *	 publish, maps the reader page a second time read-write.  A bug here can
 *	 therefore never corrupt what producers wrote.  It validates the header
 *	 (magic, layout version, header and slot size, section geometry against
 *	 the object's size) and remembers the generation, the postmaster's pid and
 *	 start time, and the object's inode.
 *
 * - The reader keeps one cursor per ring in private memory: the number of
 *	 the next record it expects.  The open mode places the cursors at each
 *	 ring's head (skip history), at the oldest record still retained, or at
 *	 the cursors the previous reader published for the same generation.
 *
 * - qlr_read first checks the header's state and generation: a segment that
 *	 is being initialized or closed gives QLR_NOT_READY, a new generation (the
 *	 postmaster reinitialized shared memory after a crash) resets the cursors
 *	 to 0 and gives QLR_GENERATION_CHANGED.  Then it visits the rings round
 *	 robin, starting after the ring it visited last, and copies whole slots
 *	 into the caller's buffer until the buffer is full or every ring is
 *	 caught up.  A slot is copied with the seqlock protocol: acquire-load of
 *	 seq, relaxed loads of the payload, acquire fence, reload of seq; the copy
 *	 is accepted only when both loads equal 2n+2 for the expected record n and
 *	 the record carries the reader's generation.  A later sequence number
 *	 means the producer lapped the reader: the gap is counted as lost and the
 *	 cursor moves to the oldest retained record.  An odd sequence number for
 *	 record n while the head has moved past n+1 is a record its producer
 *	 never finished (it died mid-write): it counts as one lost record.  After
 *	 the batch the generation is read again; if it changed, the batch is
 *	 discarded, so no record of an old generation is ever returned once the
 *	 change is visible.  Every record the cursors move past is either copied
 *	 or counted lost, so after a full drain copied + lost equals the growth of
 *	 the ring heads since open.
 *
 * - About once a second (CLOCK_MONOTONIC_COARSE) qlr_read opens the object
 *	 by name again and compares the inode: a segment that was unlinked or
 *	 replaced (a new postmaster), or a header whose postmaster pid or start
 *	 time changed, gives QLR_REPLACED for good; the caller reopens.
 *
 * - With publish, each read call stores the cursors, a heartbeat, and the
 *	 totals in the reader page, where producers read the cursors to count
 *	 records overwritten unread.  The generation the cursors belong to is
 *	 stored in the page's first reserved word, for QLR_MODE_RESUME.
 *
 * The library has no threads, no callbacks and no locks: a call is a bounded
 * memory copy, safe to make synchronously from JavaScript.  One reader handle
 * must not be used by two threads at once.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pg_querylens_layout.h"
#include "querylens_reader.h"

#if ATOMIC_LLONG_LOCK_FREE != 2 || ATOMIC_LONG_LOCK_FREE != 2
#error "the reader needs lock-free 64-bit atomics"
#endif

_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic u64 has the size of u64");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic u32 has the size of u32");

/* Longest segment name accepted (shm_open names are file names under /dev/shm). */
#define QLR_NAME_MAX			256

/* How often qlr_read checks that the name still refers to the mapped object. */
#define QLR_CHECK_INTERVAL_NS	UINT64_C(1000000000)

/* Sanity bounds of the header's geometry. */
#define QLR_MAX_RINGS			(UINT32_C(1) << 20)
#define QLR_MAX_SLOTS_PER_RING	(UINT32_C(1) << 24)

#define QLR_SLOT_WORDS			(QL_SLOT_SIZE / 8)

struct qlr_reader
{
	char		name[QLR_NAME_MAX];
	const uint8_t *base;		/* the whole segment, PROT_READ */
	size_t		size;
	QlReaderPage *page;			/* writable reader page, NULL without publish */
	size_t		page_size;
	const QlGlobalHeader *hdr;
	const QlRingHeader *rings;
	const uint8_t *slots;
	uint32_t	nrings;
	uint32_t	slots_per_ring;
	uint64_t	mask;
	uint64_t	generation;		/* the generation the cursors belong to */
	int32_t		postmaster_pid;
	int64_t		postmaster_start_us;
	dev_t		dev;
	ino_t		ino;
	uint64_t	last_check_ns;
	bool		replaced;		/* sticky: the segment is no longer the named one */
	uint32_t	next_ring;		/* where the next round robin starts */
	uint64_t	total_copied;
	uint64_t	total_lost;
	uint64_t   *cursors;		/* next expected record number, per ring */
};

/* What one read call found. */
typedef struct QlrBatch
{
	uint32_t	room;			/* records that fit in the caller's buffer */
	uint32_t	copied;
	uint64_t	lost;
	bool		generation_changed;
} QlrBatch;

/* offsetof of every QlRecord field, in declaration order */
static const uint32_t record_offsets[] = {
	offsetof(QlRecord, seq),
	offsetof(QlRecord, type),
	offsetof(QlRecord, rec_version),
	offsetof(QlRecord, nesting_level),
	offsetof(QlRecord, cmd_type),
	offsetof(QlRecord, flags),
	offsetof(QlRecord, pid),
	offsetof(QlRecord, dbid),
	offsetof(QlRecord, userid),
	offsetof(QlRecord, generation),
	offsetof(QlRecord, exec_seq),
	offsetof(QlRecord, queryid),
	offsetof(QlRecord, planid),
	offsetof(QlRecord, parent_queryid),
	offsetof(QlRecord, start_us),
	offsetof(QlRecord, duration_ns),
	offsetof(QlRecord, rows),
	offsetof(QlRecord, shared_blks_hit),
	offsetof(QlRecord, shared_blks_read),
	offsetof(QlRecord, shared_blks_dirtied),
	offsetof(QlRecord, shared_blks_written),
	offsetof(QlRecord, local_blks_hit),
	offsetof(QlRecord, local_blks_read),
	offsetof(QlRecord, local_blks_dirtied),
	offsetof(QlRecord, local_blks_written),
	offsetof(QlRecord, temp_blks_read),
	offsetof(QlRecord, temp_blks_written),
	offsetof(QlRecord, wal_bytes),
	offsetof(QlRecord, wal_records),
	offsetof(QlRecord, wal_fpi),
	offsetof(QlRecord, shared_read_us),
	offsetof(QlRecord, shared_write_us),
	offsetof(QlRecord, local_read_us),
	offsetof(QlRecord, local_write_us),
	offsetof(QlRecord, temp_read_us),
	offsetof(QlRecord, temp_write_us),
	offsetof(QlRecord, cpu_user_us),
	offsetof(QlRecord, cpu_sys_us),
	offsetof(QlRecord, wait_samples),
	offsetof(QlRecord, wait_event_last),
	offsetof(QlRecord, sqlstate),
	offsetof(QlRecord, reserved),
};

#define QLR_RECORD_FIELDS ((uint32_t) (sizeof(record_offsets) / sizeof(record_offsets[0])))

static inline uint64_t
load_acquire_u64(const void *p)
{
	return atomic_load_explicit((const _Atomic uint64_t *) p, memory_order_acquire);
}

static inline uint64_t
load_relaxed_u64(const void *p)
{
	return atomic_load_explicit((const _Atomic uint64_t *) p, memory_order_relaxed);
}

static inline uint32_t
load_acquire_u32(const void *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *) p, memory_order_acquire);
}

static inline void
store_relaxed_u64(void *p, uint64_t v)
{
	atomic_store_explicit((_Atomic uint64_t *) p, v, memory_order_relaxed);
}

static uint64_t
clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static int32_t
status_of_errno(int e)
{
	if (e == ENOENT)
		return QLR_NO_SEGMENT;
	if (e == EACCES || e == EPERM)
		return QLR_PERMISSION;
	return QLR_OS_ERROR;
}

static bool
page_aligned(uint64_t v)
{
	return (v & (QL_PAGE_SIZE - 1)) == 0;
}

/* Does [offset, offset + len) lie inside a segment of size bytes? */
static bool
section_fits(uint64_t offset, uint64_t len, uint64_t size)
{
	return page_aligned(offset) && offset >= QL_HEADER_SIZE && offset <= size && len <= size - offset;
}

/*
 * Checks a header copy against this library's layout and the object's size.
 */
static int32_t
validate_header(const QlGlobalHeader *h, uint64_t size)
{
	uint64_t	spr = h->slots_per_ring;

	if (h->magic != QL_MAGIC)
		return QLR_BAD_MAGIC;
	if (h->layout_version != QL_LAYOUT_VERSION || h->header_size != QL_HEADER_SIZE ||
		h->slot_size != QL_SLOT_SIZE)
		return QLR_LAYOUT_MISMATCH;
	if (h->segment_size != size)
		return QLR_LAYOUT_MISMATCH;
	if (h->nrings == 0 || h->nrings > QLR_MAX_RINGS)
		return QLR_LAYOUT_MISMATCH;
	if (spr == 0 || spr > QLR_MAX_SLOTS_PER_RING || (spr & (spr - 1)) != 0)
		return QLR_LAYOUT_MISMATCH;
	if (h->reader_page_size < sizeof(QlReaderPage) + (uint64_t) h->nrings * sizeof(uint64_t) ||
		!page_aligned(h->reader_page_size) ||
		!section_fits(h->reader_page_offset, h->reader_page_size, size))
		return QLR_LAYOUT_MISMATCH;
	if (!section_fits(h->ring_headers_offset, (uint64_t) h->nrings * QL_RING_HEADER_SIZE, size) ||
		!section_fits(h->procs_offset, (uint64_t) h->nrings * QL_PROC_SLOT_SIZE, size) ||
		!section_fits(h->slots_offset, (uint64_t) h->nrings * spr * QL_SLOT_SIZE, size))
		return QLR_LAYOUT_MISMATCH;
	return QLR_OK;
}

static void
unmap_reader(qlr_reader *r)
{
	if (r->page != NULL)
		munmap(r->page, r->page_size);
	if (r->base != NULL)
		munmap((void *) r->base, r->size);
	r->page = NULL;
	r->base = NULL;
}

/*
 * Maps the named segment (and, with publish, its reader page) and validates
 * its header.  Fills the geometry fields of r.
 */
static int32_t
map_segment(qlr_reader *r, bool publish)
{
	QlGlobalHeader h;
	struct stat st;
	void	   *p;
	int			fd;
	int32_t		status;

	fd = shm_open(r->name, publish ? O_RDWR : O_RDONLY, 0);
	if (fd < 0)
		return status_of_errno(errno);
	if (fstat(fd, &st) != 0)
	{
		status = status_of_errno(errno);
		close(fd);
		return status;
	}
	if (st.st_size < QL_HEADER_SIZE)
	{
		close(fd);
		return QLR_BAD_MAGIC;
	}
	p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
	{
		status = status_of_errno(errno);
		close(fd);
		return status;
	}
	r->base = p;
	r->size = (size_t) st.st_size;
	r->dev = st.st_dev;
	r->ino = st.st_ino;

	atomic_thread_fence(memory_order_acquire);
	memcpy(&h, r->base, sizeof(h));
	status = validate_header(&h, (uint64_t) st.st_size);
	if (status != QLR_OK)
	{
		close(fd);
		return status;
	}

	if (publish)
	{
		p = mmap(NULL, h.reader_page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				 (off_t) h.reader_page_offset);
		if (p == MAP_FAILED)
		{
			status = status_of_errno(errno);
			close(fd);
			return status;
		}
		r->page = p;
		r->page_size = h.reader_page_size;
	}
	close(fd);

	r->hdr = (const QlGlobalHeader *) r->base;
	r->rings = (const QlRingHeader *) (r->base + h.ring_headers_offset);
	r->slots = r->base + h.slots_offset;
	r->nrings = h.nrings;
	r->slots_per_ring = h.slots_per_ring;
	r->mask = (uint64_t) h.slots_per_ring - 1;
	r->postmaster_pid = h.postmaster_pid;
	r->postmaster_start_us = h.postmaster_start_us;
	r->generation = load_acquire_u64(&r->hdr->generation);
	return QLR_OK;
}

/* Oldest record still retained in a ring whose head is head. */
static uint64_t
oldest_retained(const qlr_reader *r, uint64_t head)
{
	return head > r->slots_per_ring ? head - r->slots_per_ring : 0;
}

/* Places the cursors as mode asks. */
static void
place_cursors(qlr_reader *r, int32_t mode)
{
	const QlReaderPage *published;
	bool		resume = false;

	published = (const QlReaderPage *) (r->base + r->hdr->reader_page_offset);
	if (mode == QLR_MODE_RESUME)
		resume = load_relaxed_u64(&published->reserved[0]) == r->generation;

	for (uint32_t i = 0; i < r->nrings; i++)
	{
		uint64_t	head = load_acquire_u64(&r->rings[i].head);
		uint64_t	cursor = oldest_retained(r, head);

		if (mode == QLR_MODE_HEAD)
			cursor = head;
		else if (resume)
		{
			uint64_t	saved = load_relaxed_u64(&published->cursors[i]);

			/* A cursor ahead of the head is not from this ring's history. */
			if (saved <= head)
				cursor = saved;
		}
		r->cursors[i] = cursor;
	}
}

/* Stores the cursors, the totals and a heartbeat in the reader page. */
static void
publish_cursors(qlr_reader *r)
{
	QlReaderPage *page = r->page;
	struct timespec now;

	if (page == NULL)
		return;
	for (uint32_t i = 0; i < r->nrings; i++)
		store_relaxed_u64(&page->cursors[i], r->cursors[i]);
	store_relaxed_u64(&page->reserved[0], r->generation);
	store_relaxed_u64(&page->records_read, r->total_copied);
	store_relaxed_u64(&page->records_lost, r->total_lost);
	clock_gettime(CLOCK_REALTIME, &now);
	atomic_store_explicit((_Atomic uint64_t *) &page->heartbeat_us,
						  (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000,
						  memory_order_release);
}

/* Follows generation gen from the start of every ring. */
static void
reset_generation(qlr_reader *r, uint64_t gen)
{
	r->generation = gen;
	r->next_ring = 0;
	memset(r->cursors, 0, sizeof(uint64_t) * r->nrings);
}

/*
 * Has the name stopped referring to the mapped object (checked about once a
 * second), or has the header's postmaster changed?
 */
static bool
segment_replaced(qlr_reader *r)
{
	struct stat st;
	uint64_t	now;
	int			fd;

	if (r->hdr->postmaster_pid != r->postmaster_pid ||
		r->hdr->postmaster_start_us != r->postmaster_start_us)
		return true;
	now = clock_ns(CLOCK_MONOTONIC_COARSE);
	if (now - r->last_check_ns < QLR_CHECK_INTERVAL_NS)
		return false;
	r->last_check_ns = now;
	fd = shm_open(r->name, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT;	/* other errors cannot tell: keep reading */
	if (fstat(fd, &st) != 0)
	{
		close(fd);
		return false;
	}
	close(fd);
	return st.st_ino != r->ino || st.st_dev != r->dev;
}

/* Copies the payload words of a slot (seq excluded) with relaxed loads. */
static inline void
copy_payload(uint8_t *dst, const uint8_t *slot)
{
	const _Atomic uint64_t *src = (const _Atomic uint64_t *) slot;

	for (int i = 1; i < QLR_SLOT_WORDS; i++)
	{
		uint64_t	w = atomic_load_explicit(&src[i], memory_order_relaxed);

		memcpy(dst + (size_t) i * 8, &w, sizeof(w));
	}
}

/*
 * Record n of ring is gone: skips to the oldest record still retained (at
 * least n + 1) and counts what was skipped as lost.  Returns the new cursor.
 */
static uint64_t
skip_lapped(const qlr_reader *r, const QlRingHeader *rh, uint64_t n, QlrBatch *b)
{
	uint64_t	oldest = oldest_retained(r, load_acquire_u64(&rh->head));
	uint64_t	next = oldest > n + 1 ? oldest : n + 1;

	b->lost += next - n;
	return next;
}

/* Copies what ring has (up to the room left in the batch) into buf. */
static void
read_ring(qlr_reader *r, uint32_t ring, uint8_t *buf, QlrBatch *b)
{
	const QlRingHeader *rh = &r->rings[ring];
	const uint8_t *ring_slots = r->slots + (uint64_t) ring * r->slots_per_ring * QL_SLOT_SIZE;
	uint64_t	head = load_acquire_u64(&rh->head);
	uint64_t	n = r->cursors[ring];
	uint32_t	gen32 = (uint32_t) r->generation;

	while (n < head && b->copied < b->room)
	{
		const uint8_t *slot = ring_slots + (n & r->mask) * QL_SLOT_SIZE;
		uint8_t    *dst = buf + (size_t) b->copied * QL_SLOT_SIZE;
		uint64_t	expect = 2 * n + 2;
		uint64_t	s1 = load_acquire_u64(slot);
		uint64_t	s2;
		uint32_t	rec_gen;
		uint64_t	ring64 = ring;

		if (s1 > expect)
		{
			/* lapped: the slot holds (or is receiving) a later record */
			n = skip_lapped(r, rh, n, b);
			head = load_acquire_u64(&rh->head);
			continue;
		}
		if (s1 != expect)
		{
			/* odd for record n: being written, or its producer died mid-write */
			if (s1 == expect - 1 && head > n + 1)
			{
				b->lost++;
				n++;
				continue;
			}
			break;				/* not written yet */
		}

		copy_payload(dst, slot);
		atomic_thread_fence(memory_order_acquire);
		s2 = load_relaxed_u64(slot);
		if (s2 != s1)
		{
			/* overwritten while copying */
			n = skip_lapped(r, rh, n, b);
			head = load_acquire_u64(&rh->head);
			continue;
		}
		memcpy(&rec_gen, dst + offsetof(QlRecord, generation), sizeof(rec_gen));
		if (rec_gen != gen32)
		{
			/*
			 * A record of another generation: either the generation just
			 * changed (stop; the caller discards the batch) or a record left
			 * over from an earlier one, which is skipped.
			 */
			atomic_thread_fence(memory_order_acquire);
			if (load_acquire_u64(&r->hdr->generation) != r->generation)
			{
				b->generation_changed = true;
				break;
			}
			b->lost++;
			n++;
			continue;
		}
		memcpy(dst, &s1, sizeof(s1));
		memcpy(dst + offsetof(QlRecord, reserved), &ring64, sizeof(ring64));
		b->copied++;
		n++;
	}
	r->cursors[ring] = n;
}

static void
fill_stats(const qlr_reader *r, uint8_t *stats, const QlrBatch *b, uint32_t visited, int e)
{
	uint64_t	st[QLR_STAT_WORDS] = {0};

	if (stats == NULL)
		return;
	if (r != NULL)
	{
		st[QLR_STAT_TOTAL_COPIED] = r->total_copied;
		st[QLR_STAT_TOTAL_LOST] = r->total_lost;
		st[QLR_STAT_GENERATION] = r->generation;
	}
	if (b != NULL)
	{
		st[QLR_STAT_COPIED] = b->copied;
		st[QLR_STAT_LOST] = b->lost;
	}
	st[QLR_STAT_RINGS_VISITED] = visited;
	st[QLR_STAT_ERRNO] = (uint64_t) e;
	memcpy(stats, st, sizeof(st));
}

qlr_reader *
qlr_open(const char *name, int32_t mode, int32_t publish, int32_t *err)
{
	qlr_reader *r;
	int32_t		status;

	if (err != NULL)
		*err = QLR_OK;
	if (name == NULL || name[0] == '\0' || strnlen(name, QLR_NAME_MAX) >= QLR_NAME_MAX ||
		mode < QLR_MODE_HEAD || mode > QLR_MODE_RESUME)
	{
		if (err != NULL)
			*err = QLR_INVALID_ARGUMENT;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
	{
		if (err != NULL)
			*err = QLR_OS_ERROR;
		return NULL;
	}
	strcpy(r->name, name);
	status = map_segment(r, publish != 0);
	if (status == QLR_OK)
	{
		r->cursors = calloc(r->nrings, sizeof(uint64_t));
		if (r->cursors == NULL)
			status = QLR_OS_ERROR;
	}
	if (status != QLR_OK)
	{
		unmap_reader(r);
		free(r->cursors);
		free(r);
		if (err != NULL)
			*err = status;
		return NULL;
	}
	r->last_check_ns = clock_ns(CLOCK_MONOTONIC_COARSE);
	place_cursors(r, mode);
	if (r->page != NULL)
	{
		atomic_store_explicit((_Atomic int32_t *) &r->page->reader_pid, (int32_t) getpid(),
							  memory_order_relaxed);
		publish_cursors(r);
	}
	return r;
}

int32_t
qlr_read(qlr_reader *r, uint8_t *buf, uint32_t buf_len, uint8_t *stats)
{
	QlrBatch	b = {0};
	uint32_t	visited = 0;
	uint64_t	gen;

	if (r == NULL || buf == NULL || buf_len < QL_SLOT_SIZE)
	{
		fill_stats(r, stats, NULL, 0, 0);
		return QLR_INVALID_ARGUMENT;
	}
	if (r->replaced || segment_replaced(r))
	{
		r->replaced = true;
		fill_stats(r, stats, NULL, 0, 0);
		return QLR_REPLACED;
	}
	if (load_acquire_u32(&r->hdr->state) != QL_STATE_READY)
	{
		fill_stats(r, stats, NULL, 0, 0);
		return QLR_NOT_READY;
	}
	gen = load_acquire_u64(&r->hdr->generation);
	if (gen != r->generation)
	{
		reset_generation(r, gen);
		publish_cursors(r);
		fill_stats(r, stats, NULL, 0, 0);
		return QLR_GENERATION_CHANGED;
	}

	b.room = buf_len / QL_SLOT_SIZE;
	while (visited < r->nrings && b.copied < b.room && !b.generation_changed)
	{
		uint32_t	ring = r->next_ring;

		r->next_ring = ring + 1 == r->nrings ? 0 : ring + 1;
		visited++;
		read_ring(r, ring, buf, &b);
	}

	/* A batch that overlaps a reinitialization is discarded whole. */
	atomic_thread_fence(memory_order_acquire);
	gen = load_acquire_u64(&r->hdr->generation);
	if (b.generation_changed || gen != r->generation)
	{
		reset_generation(r, gen);
		publish_cursors(r);
		fill_stats(r, stats, NULL, visited, 0);
		return QLR_GENERATION_CHANGED;
	}

	r->total_copied += b.copied;
	r->total_lost += b.lost;
	publish_cursors(r);
	fill_stats(r, stats, &b, visited, 0);
	return (int32_t) b.copied;
}

int32_t
qlr_header(qlr_reader *r, uint8_t *buf, uint32_t buf_len)
{
	if (r == NULL || buf == NULL || buf_len < sizeof(QlGlobalHeader))
		return QLR_INVALID_ARGUMENT;
	atomic_thread_fence(memory_order_acquire);
	memcpy(buf, r->hdr, sizeof(QlGlobalHeader));
	return (int32_t) sizeof(QlGlobalHeader);
}

void
qlr_close(qlr_reader *r)
{
	if (r == NULL)
		return;
	if (r->page != NULL)
	{
		_Atomic int32_t *pid = (_Atomic int32_t *) &r->page->reader_pid;
		int32_t		mine = (int32_t) getpid();

		/* leave the page to another reader that attached since */
		atomic_compare_exchange_strong(pid, &mine, 0);
	}
	unmap_reader(r);
	free(r->cursors);
	free(r);
}

uint32_t
qlr_layout_version(void)
{
	return QL_LAYOUT_VERSION;
}

uint32_t
qlr_slot_size(void)
{
	return QL_SLOT_SIZE;
}

int32_t
qlr_offsets(uint32_t *out, uint32_t n)
{
	if (out == NULL && n > 0)
		return QLR_INVALID_ARGUMENT;
	for (uint32_t i = 0; i < n && i < QLR_RECORD_FIELDS; i++)
		out[i] = record_offsets[i];
	return (int32_t) QLR_RECORD_FIELDS;
}
