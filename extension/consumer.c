/*-------------------------------------------------------------------------
 *
 * consumer.c
 *		SQL consumers of the rings: named cursors kept in PostgreSQL's own
 *		shared memory, and the seqlock-validated ring reader they use.
 *
 * A consumer is a name (pg_querylens_read's consumer argument) with one
 * cursor per ring: the number of the next record it expects.  Up to
 * QL_MAX_CONSUMERS exist; the first read by a new name creates it with
 * every cursor at 0, so it starts with the oldest record each ring still
 * holds.  The cursors, counters and the ring to visit first live in a small
 * area requested with RequestAddinShmemSpace and guarded by one named
 * LWLock.  Only SQL consumers take that lock; producers never do, and the
 * external reader (ffi/) has its own cursors in the segment's reader page.
 *
 * Reading ring r from cursor c follows the protocol of
 * pg_querylens_layout.h: acquire the head, then for each record n from c
 * load the slot's seq, copy the slot, load seq again, and accept it when
 * both equal 2n+2 and the record carries the header's generation.  A seq
 * beyond 2n+2 means the producer has lapped the reader: the records between
 * the cursor and head - slots_per_ring are gone and counted as lost.
 * Rings are visited round-robin from where the previous call stopped, so a
 * small max_rows does not starve the higher rings.
 *
 * When the generation in the segment header differs from the one a
 * consumer last saw (the postmaster reinitialized shared memory), its
 * cursors restart at 0.  That is also the case after a crash restart, when
 * this area itself is recreated empty.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "compat.h"
#include "querylens.h"

typedef struct QlConsumer
{
	bool		in_use;
	char		name[NAMEDATALEN];
	uint32		next_ring;		/* ring the next read starts with */
	uint64		generation;		/* generation the cursors belong to */
	uint64		records_read;
	uint64		records_lost;
} QlConsumer;

typedef struct QlConsumerState
{
	LWLock	   *lock;
	uint32		ncursors;		/* cursors per consumer */
	QlConsumer	consumers[QL_MAX_CONSUMERS];
	uint64		cursors[FLEXIBLE_ARRAY_MEMBER]; /* QL_MAX_CONSUMERS x ncursors */
} QlConsumerState;

static QlConsumerState *ql_cs = NULL;

/* Number of rings the area was sized for (computed in the postmaster) */
static int	ql_requested_rings = 0;

static Size
ql_consumers_size(int nrings)
{
	return add_size(offsetof(QlConsumerState, cursors),
					mul_size(sizeof(uint64), mul_size(QL_MAX_CONSUMERS, nrings)));
}

/* shmem_request_hook part (or _PG_init before 15) */
void
ql_consumers_request(void)
{
	ql_requested_rings = ql_total_procs();
	RequestAddinShmemSpace(ql_consumers_size(ql_requested_rings));
	RequestNamedLWLockTranche(QL_SHMEM_NAME, 1);
}

/* shmem_startup_hook part: create (or, in a child, find) the area */
void
ql_consumers_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ql_cs = ShmemInitStruct(QL_SHMEM_NAME, ql_consumers_size(ql_requested_rings), &found);
	if (!found)
	{
		memset(ql_cs, 0, ql_consumers_size(ql_requested_rings));
		ql_cs->lock = &(GetNamedLWLockTranche(QL_SHMEM_NAME))->lock;
		ql_cs->ncursors = (uint32) ql_requested_rings;
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
ql_require_segment(void)
{
	if (ql_header == NULL || ql_cs == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_querylens shared memory segment is not available"),
				 errhint("pg_querylens must be in shared_preload_libraries; "
						 "the server log says why the segment could not be created.")));
}

/* Current generation of the segment (acquire) */
uint64
ql_current_generation(void)
{
	uint64		g = pg_atomic_read_u64((pg_atomic_uint64 *) &ql_header->generation);

	pg_read_barrier();
	return g;
}

/*
 * Copies up to room records of ring r, starting at *cursor, into out;
 * advances *cursor and adds lapped records to *lost.
 */
static int
ql_read_ring(uint32 r, uint64 *cursor, QlRecord *out, uint32 *out_ring, int room,
			 uint64 *lost, uint32 gen32)
{
	QlRingHeader *ring = &ql_rings[r];
	uint64		spr = ql_header->slots_per_ring;
	uint64		cur = *cursor;
	uint64		head;
	int			n = 0;

	head = pg_atomic_read_u64((pg_atomic_uint64 *) &ring->head);
	pg_read_barrier();
	if (head < cur)
		cur = head;
	if (head - cur > spr)
	{
		*lost += head - spr - cur;
		cur = head - spr;
	}
	while (cur < head && n < room)
	{
		QlRecord   *slot = ql_slot_at(r, cur);
		uint64		want = 2 * cur + 2;
		uint64		s1;
		uint64		s2;

		s1 = pg_atomic_read_u64((pg_atomic_uint64 *) &slot->seq);
		pg_read_barrier();
		memcpy(&out[n], slot, QL_SLOT_SIZE);
		pg_read_barrier();
		s2 = pg_atomic_read_u64((pg_atomic_uint64 *) &slot->seq);

		if (s1 == want && s2 == want && out[n].generation == gen32)
		{
			out_ring[n] = r;
			n++;
			cur++;
			continue;
		}
		if (s1 > want || s2 > want)
		{
			/* lapped: resume at the oldest record the ring still holds */
			uint64		next;

			head = pg_atomic_read_u64((pg_atomic_uint64 *) &ring->head);
			pg_read_barrier();
			next = head > spr ? head - spr : 0;
			if (next <= cur)
				next = cur + 1;
			*lost += next - cur;
			cur = next;
			continue;
		}
		/* not written yet, or of another generation */
		break;
	}
	*cursor = cur;
	return n;
}

static QlConsumer *
ql_find_consumer(const char *name)
{
	for (int i = 0; i < QL_MAX_CONSUMERS; i++)
	{
		if (ql_cs->consumers[i].in_use && strcmp(ql_cs->consumers[i].name, name) == 0)
			return &ql_cs->consumers[i];
	}
	return NULL;
}

static uint64 *
ql_cursors_of(QlConsumer *c)
{
	return &ql_cs->cursors[(c - ql_cs->consumers) * (uint64) ql_cs->ncursors];
}

/*
 * Reads up to max_rows records for a consumer.  With consume, the
 * consumer (created on first use) keeps the advanced cursors and counts what
 * it read and lost; without, its cursors are only looked at.
 */
void
ql_consumer_read(const char *name, int max_rows, bool consume, QlBatch *batch)
{
	QlConsumer *c;
	uint64	   *cursors;
	uint64		generation;
	uint32		nrings;
	uint32		start;
	uint32		r = 0;
	uint64		lost = 0;
	int			count = 0;
	int			capacity;

	ql_require_segment();
	nrings = Min(ql_header->nrings, ql_cs->ncursors);
	capacity = (int) Min((uint64) max_rows, (uint64) nrings * ql_header->slots_per_ring);
	batch->records = MemoryContextAllocHuge(CurrentMemoryContext,
											(Size) Max(capacity, 1) * sizeof(QlRecord));
	batch->rings = MemoryContextAllocHuge(CurrentMemoryContext,
										  (Size) Max(capacity, 1) * sizeof(uint32));
	cursors = palloc0(sizeof(uint64) * Max(nrings, 1));

	LWLockAcquire(ql_cs->lock, consume ? LW_EXCLUSIVE : LW_SHARED);
	generation = ql_current_generation();
	c = ql_find_consumer(name);
	if (c == NULL && consume)
	{
		for (int i = 0; i < QL_MAX_CONSUMERS; i++)
		{
			if (!ql_cs->consumers[i].in_use)
			{
				c = &ql_cs->consumers[i];
				memset(c, 0, sizeof(*c));
				c->in_use = true;
				strlcpy(c->name, name, NAMEDATALEN);
				c->generation = generation;
				memset(ql_cursors_of(c), 0, sizeof(uint64) * ql_cs->ncursors);
				break;
			}
		}
		if (c == NULL)
		{
			LWLockRelease(ql_cs->lock);
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("pg_querylens has no room for consumer \"%s\"", name),
					 errdetail("At most %d consumers can keep cursors.", QL_MAX_CONSUMERS)));
		}
	}
	if (c != NULL && c->generation == generation)
		memcpy(cursors, ql_cursors_of(c), sizeof(uint64) * nrings);
	start = (c != NULL) ? c->next_ring % Max(nrings, 1) : 0;

	if (pg_atomic_read_u32((pg_atomic_uint32 *) &ql_header->state) == QL_STATE_READY)
	{
		for (uint32 k = 0; k < nrings && count < capacity; k++)
		{
			r = (start + k) % nrings;
			count += ql_read_ring(r, &cursors[r], batch->records + count,
								  batch->rings + count, capacity - count, &lost,
								  (uint32) generation);
		}
	}

	if (consume)
	{
		memcpy(ql_cursors_of(c), cursors, sizeof(uint64) * nrings);
		c->generation = generation;
		c->records_read += count;
		c->records_lost += lost;
		/* continue with the ring that filled the batch, else from the start */
		c->next_ring = (count >= capacity && nrings > 0) ? r : start;
	}
	LWLockRelease(ql_cs->lock);

	pfree(cursors);
	batch->count = count;
	batch->lost = lost;
	batch->generation = generation;
}

/* Copies the consumers' names and counters; returns how many exist. */
int
ql_consumer_list(QlConsumerInfo *out)
{
	int			n = 0;

	ql_require_segment();
	LWLockAcquire(ql_cs->lock, LW_SHARED);
	for (int i = 0; i < QL_MAX_CONSUMERS; i++)
	{
		QlConsumer *c = &ql_cs->consumers[i];

		if (!c->in_use)
			continue;
		strlcpy(out[n].name, c->name, NAMEDATALEN);
		out[n].records_read = c->records_read;
		out[n].records_lost = c->records_lost;
		out[n].generation = c->generation;
		n++;
	}
	LWLockRelease(ql_cs->lock);
	return n;
}

/*
 * Zeroes the consumers' counters and every ring's overwritten_unread and
 * dropped.  The ring counters belong to their producers; a producer
 * incrementing one at the same moment may lose that one increment or the
 * reset, which is the price of keeping the hot path free of atomics.
 */
void
ql_reset_counters(void)
{
	ql_require_segment();
	LWLockAcquire(ql_cs->lock, LW_EXCLUSIVE);
	for (int i = 0; i < QL_MAX_CONSUMERS; i++)
	{
		ql_cs->consumers[i].records_read = 0;
		ql_cs->consumers[i].records_lost = 0;
	}
	LWLockRelease(ql_cs->lock);
	for (uint32 r = 0; r < ql_header->nrings; r++)
	{
		ql_rings[r].overwritten_unread = 0;
		ql_rings[r].dropped = 0;
	}
}

/* Errors unless the segment exists; for the SQL functions. */
void
ql_check_available(void)
{
	ql_require_segment();
}
