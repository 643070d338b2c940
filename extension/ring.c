/*-------------------------------------------------------------------------
 *
 * ring.c
 *		The pg_querylens segment: its life in the postmaster, the discovery
 *		file, and the producer side of the per-process rings.
 *
 * Life cycle.  The postmaster creates the segment in shmem_startup_hook:
 * an object of the same name left behind by a postmaster that was killed is
 * unlinked first (one that belongs to another running server is left alone
 * and this server records nothing), then a new one is created exclusively,
 * sized, given its storage (posix_fallocate, so that a full /dev/shm fails
 * here and not later with SIGBUS in a backend), given the mode of
 * pg_querylens.segment_mode and mapped.  Children inherit the mapping
 * through fork.  When the postmaster reinitializes shared memory after a
 * backend crash, shmem_startup_hook runs again: the mapping is kept, the
 * state goes to INITIALIZING, every ring header, process slot and record
 * slot is zeroed, the generation is incremented and the state returns to
 * READY.  Only real shutdown unlinks the object and removes the discovery
 * file, from an on_proc_exit callback registered in the postmaster
 * (on_shmem_exit callbacks also run at a crash reset, so they must not be
 * used for that; children drop the postmaster's on_proc_exit callbacks
 * when they start).
 *
 * Producer.  Ring i belongs to the process with proc number i; it has one
 * writer at a time, so a write is plain stores ordered by write barriers
 * under the per-slot seqlock described in pg_querylens_layout.h, followed
 * by a release store of the head.  Nothing here takes a lock, allocates,
 * or reports through ereport: the first time a backend overwrites a record
 * an attached reader has not read, it only sets a flag that the executor
 * hook turns into one LOG message outside the write path.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "postmaster/postmaster.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/proc.h"

#include "compat.h"
#include "querylens.h"

QlGlobalHeader *ql_header = NULL;
QlReaderPage *ql_reader = NULL;
QlRingHeader *ql_rings = NULL;
QlProcSlot *ql_procs = NULL;
char	   *ql_slots = NULL;

QlRingHeader *ql_my_ring = NULL;
QlProcSlot *ql_my_proc = NULL;
bool		ql_overwrite_warn_pending = false;

static char ql_segment_name[64];
static uint64 ql_mapped_size = 0;
static bool ql_shutdown_registered = false;

/* Producer state of this process */
static char *ql_my_slots = NULL;
static uint64 ql_my_mask = 0;
static uint64 ql_my_spr = 0;
static int	ql_my_index = -1;
static bool ql_overwrite_warned = false;
static bool ql_attach_failed = false;

/* Offsets and sizes of the sections, computed from nrings and slots */
typedef struct QlSections
{
	uint64		reader_page_size;
	uint64		reader_page_offset;
	uint64		ring_headers_offset;
	uint64		procs_offset;
	uint64		slots_offset;
	uint64		total;
} QlSections;

static void
ql_sections(uint32 nrings, uint32 slots_per_ring, QlSections *s)
{
	s->reader_page_size = QL_PAGE_ROUND(sizeof(QlReaderPage) + sizeof(uint64) * (uint64) nrings);
	s->reader_page_offset = QL_HEADER_SIZE;
	s->ring_headers_offset = s->reader_page_offset + s->reader_page_size;
	s->procs_offset = s->ring_headers_offset +
		QL_PAGE_ROUND((uint64) QL_RING_HEADER_SIZE * nrings);
	s->slots_offset = s->procs_offset +
		QL_PAGE_ROUND((uint64) QL_PROC_SLOT_SIZE * nrings);
	s->total = s->slots_offset +
		QL_PAGE_ROUND((uint64) QL_SLOT_SIZE * slots_per_ring * nrings);
}

/* Current time, Unix epoch microseconds */
int64
ql_realtime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Capability flags of the configuration the postmaster runs with */
uint32
ql_startup_capabilities(void)
{
	uint32		caps = 0;

	if (ql_cpu_mode == QL_CPU_THREAD)
		caps |= QL_CAP_CPU_THREAD;
	else if (ql_cpu_mode == QL_CPU_SAMPLED)
		caps |= QL_CAP_CPU_SAMPLED;
	if (track_io_timing)
		caps |= QL_CAP_IO_TIMING;
	if (ql_sampler_registered)
		caps |= QL_CAP_SAMPLER;
	if (ql_track_errors)
		caps |= QL_CAP_ERRORS;
	return caps;
}

static void
ql_discovery_path(char *path, size_t len)
{
	snprintf(path, len, "%s/%s", DataDir, QL_DISCOVERY_FILE);
}

/*
 * Writes the discovery file: written to a temporary name and renamed, so
 * a reader never sees half of it.
 */
static void
ql_write_discovery(void)
{
	char		path[MAXPGPATH];
	char		tmp[MAXPGPATH];
	char		text[512];
	int			len;
	int			fd;

	ql_discovery_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	len = snprintf(text, sizeof(text),
				   "segment_name=%s\n"
				   "segment_size=" UINT64_FORMAT "\n"
				   "layout_version=%u\n"
				   "slot_size=%u\n"
				   "slots_per_ring=%u\n"
				   "nrings=%u\n"
				   "postmaster_pid=%d\n",
				   ql_header->segment_name,
				   (uint64) ql_header->segment_size,
				   (unsigned) ql_header->layout_version,
				   (unsigned) ql_header->slot_size,
				   (unsigned) ql_header->slots_per_ring,
				   (unsigned) ql_header->nrings,
				   (int) ql_header->postmaster_pid);

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, 0644);
	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("pg_querylens: could not create discovery file \"%s\": %m", tmp)));
		return;
	}
	if (write(fd, text, len) != len || fchmod(fd, 0644) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("pg_querylens: could not write discovery file \"%s\": %m", tmp)));
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, path) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("pg_querylens: could not rename \"%s\" to \"%s\": %m", tmp, path)));
		unlink(tmp);
	}
}

/* Real shutdown of the postmaster: mark the segment closing, unlink it. */
static void
ql_segment_shutdown(int code, Datum arg)
{
	char		path[MAXPGPATH];

	if (ql_header == NULL)
		return;
	pg_atomic_write_u32((pg_atomic_uint32 *) &ql_header->state, QL_STATE_CLOSING);
	pg_memory_barrier();
	shm_unlink(ql_segment_name);
	ql_discovery_path(path, sizeof(path));
	unlink(path);
}

/* Fills the header of a new or reinitialized segment (state excluded). */
static void
ql_fill_header(uint32 nrings, const QlSections *s)
{
	QlGlobalHeader *h = ql_header;

	h->magic = QL_MAGIC;
	h->layout_version = QL_LAYOUT_VERSION;
	h->header_size = QL_HEADER_SIZE;
	h->slot_size = QL_SLOT_SIZE;
	h->slots_per_ring = (uint32) ql_ring_slots;
	h->nrings = nrings;
	h->reader_page_offset = s->reader_page_offset;
	h->ring_headers_offset = s->ring_headers_offset;
	h->procs_offset = s->procs_offset;
	h->slots_offset = s->slots_offset;
	h->segment_size = s->total;
	h->system_identifier = GetSystemIdentifier();
	h->postmaster_pid = MyProcPid;
	h->pg_version_num = PG_VERSION_NUM;
	h->blcksz = BLCKSZ;
	h->capabilities = ql_startup_capabilities();
	h->sample_period_ms = (uint32) Max(ql_sample_period, 0);
	h->cpu_sample_every = (uint32) ql_cpu_sample_every;
	h->sampler_heartbeat_us = 0;
	h->sampler_passes = 0;
	h->sampler_pid = 0;
	h->reader_page_size = (uint32) s->reader_page_size;
	strlcpy(h->segment_name, ql_segment_name, sizeof(h->segment_name));
}

static void
ql_set_pointers(const QlSections *s)
{
	char	   *base = (char *) ql_header;

	ql_reader = (QlReaderPage *) (base + s->reader_page_offset);
	ql_rings = (QlRingHeader *) (base + s->ring_headers_offset);
	ql_procs = (QlProcSlot *) (base + s->procs_offset);
	ql_slots = base + s->slots_offset;
}

/*
 * Whether an existing object of our name belongs to another running
 * server: one of another cluster (system identifier) whose postmaster is
 * alive and has not closed it.  A server that fails to start because its
 * port is taken creates shared memory before it binds the port, and must
 * not take the running server's segment away.  Anything else of that name
 * is left over from a postmaster that was killed, and is replaced.
 */
static bool
ql_segment_in_use(void)
{
	QlGlobalHeader old;
	int			fd;
	bool		in_use = false;

	fd = shm_open(ql_segment_name, O_RDONLY, 0);
	if (fd < 0)
		return false;
	if (pread(fd, &old, sizeof(old), 0) == sizeof(old) &&
		old.magic == QL_MAGIC &&
		old.system_identifier != GetSystemIdentifier() &&
		old.state != QL_STATE_CLOSING &&
		old.postmaster_pid > 0 && old.postmaster_pid != MyProcPid &&
		(kill(old.postmaster_pid, 0) == 0 || errno == EPERM))
		in_use = true;
	close(fd);
	if (in_use)
		ereport(LOG,
				(errmsg("pg_querylens: shared memory segment \"%s\" belongs to the running server with postmaster PID %d",
						ql_segment_name, (int) old.postmaster_pid),
				 errdetail("Executions are not recorded by this server."),
				 errhint("Servers on one host need different ports.")));
	return in_use;
}

/* Creates and maps a new segment; on failure logs and leaves ql_header NULL. */
static void
ql_segment_create(uint32 nrings)
{
	QlSections	s;
	int			fd;
	int			rc;
	void	   *p;

	ql_sections(nrings, (uint32) ql_ring_slots, &s);
	snprintf(ql_segment_name, sizeof(ql_segment_name), "%s%d",
			 QL_SEGMENT_PREFIX, PostPortNumber);

	if (ql_segment_in_use())
		return;
	if (shm_unlink(ql_segment_name) == 0)
		ereport(LOG,
				(errmsg("pg_querylens: removed stale shared memory segment \"%s\"",
						ql_segment_name)));

	fd = shm_open(ql_segment_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("pg_querylens: could not create shared memory segment \"%s\": %m",
						ql_segment_name),
				 errdetail("Executions are not recorded.")));
		return;
	}
	if (ftruncate(fd, (off_t) s.total) != 0)
		goto fail;
	do
	{
		rc = posix_fallocate(fd, 0, (off_t) s.total);
	} while (rc == EINTR);
	if (rc != 0)
	{
		errno = rc;
		goto fail;
	}
	if (fchmod(fd, (mode_t) ql_segment_mode) != 0)
		goto fail;
	p = mmap(NULL, s.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(fd);

	ql_header = (QlGlobalHeader *) p;
	ql_mapped_size = s.total;
	ql_set_pointers(&s);
	ql_header->state = QL_STATE_INITIALIZING;
	ql_fill_header(nrings, &s);
	ql_header->postmaster_start_us = ql_realtime_us();
	pg_write_barrier();
	pg_atomic_write_u64((pg_atomic_uint64 *) &ql_header->generation, 1);
	pg_write_barrier();
	pg_atomic_write_u32((pg_atomic_uint32 *) &ql_header->state, QL_STATE_READY);

	ereport(LOG,
			(errmsg("pg_querylens: created shared memory segment \"%s\" (" UINT64_FORMAT " bytes, %u rings of %d records)",
					ql_segment_name, (uint64) s.total, nrings, ql_ring_slots)));
	return;

fail:
	{
		int			save_errno = errno;

		close(fd);
		shm_unlink(ql_segment_name);
		errno = save_errno;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("pg_querylens: could not set up shared memory segment \"%s\" of " UINT64_FORMAT " bytes: %m",
						ql_segment_name, (uint64) s.total),
				 errdetail("Executions are not recorded."),
				 errhint("Check the free space of /dev/shm or lower pg_querylens.ring_slots.")));
	}
}

/* Crash-restart: same mapping, everything zeroed, next generation. */
static void
ql_segment_reinit(uint32 nrings)
{
	QlSections	s;
	uint64		generation;

	ql_sections(nrings, (uint32) ql_ring_slots, &s);
	pg_atomic_write_u32((pg_atomic_uint32 *) &ql_header->state, QL_STATE_INITIALIZING);
	pg_memory_barrier();
	memset(ql_rings, 0, s.procs_offset - s.ring_headers_offset);
	memset(ql_procs, 0, s.slots_offset - s.procs_offset);
	memset(ql_slots, 0, s.total - s.slots_offset);
	ql_fill_header(nrings, &s);
	generation = pg_atomic_read_u64((pg_atomic_uint64 *) &ql_header->generation) + 1;
	pg_write_barrier();
	pg_atomic_write_u64((pg_atomic_uint64 *) &ql_header->generation, generation);
	pg_write_barrier();
	pg_atomic_write_u32((pg_atomic_uint32 *) &ql_header->state, QL_STATE_READY);
	ereport(LOG,
			(errmsg("pg_querylens: shared memory segment \"%s\" reset, generation " UINT64_FORMAT,
					ql_segment_name, generation)));
}

/*
 * shmem_startup_hook part: create the segment at postmaster start, reset it
 * when the postmaster reinitializes shared memory after a crash.
 *
 * Children of the postmaster inherit the mapping; a build with
 * EXEC_BACKEND (children re-executed, not forked) would have to attach by
 * name here, which is not supported: such children record nothing.
 */
void
ql_segment_startup(void)
{
	uint32		nrings;

	if (IsUnderPostmaster)
		return;

	nrings = ProcGlobal->allProcCount;
	if (ql_header != NULL)
	{
		QlSections	s;

		ql_sections(nrings, (uint32) ql_ring_slots, &s);
		if (s.total == ql_mapped_size)
			ql_segment_reinit(nrings);
		else
		{
			/* cannot happen: the sizes depend on postmaster-only settings */
			ereport(LOG,
					(errmsg("pg_querylens: segment size changed across a restart; executions are not recorded")));
			munmap(ql_header, ql_mapped_size);
			ql_header = NULL;
			shm_unlink(ql_segment_name);
			return;
		}
	}
	else
		ql_segment_create(nrings);

	if (ql_header == NULL)
		return;
	ql_write_discovery();
	if (!ql_shutdown_registered)
	{
		on_proc_exit(ql_segment_shutdown, (Datum) 0);
		ql_shutdown_registered = true;
	}
}

/* Backend exit: the ring has no producer any more. */
static void
ql_producer_detach(int code, Datum arg)
{
	if (ql_my_ring == NULL)
		return;
	ql_my_proc->queryid = 0;
	ql_my_proc->planid = 0;
	ql_my_proc->exec_seq = 0;
	ql_my_ring->pid = 0;
	ql_my_ring = NULL;
	ql_my_proc = NULL;
	ql_attach_failed = true;	/* nothing is recorded while exiting */
}

/*
 * Binds this process to its ring: the one of its proc number.  Returns
 * false, once and for all, when there is no segment or no PGPROC.
 */
bool
ql_producer_attach(void)
{
	int			index;

	if (ql_my_ring != NULL)
		return true;
	if (ql_attach_failed || ql_header == NULL)
	{
		ql_attach_failed = true;
		return false;
	}
	index = QL_MY_PROC_NUMBER();
	if (index < 0 || (uint32) index >= ql_header->nrings)
	{
		ql_attach_failed = true;
		return false;
	}
	ql_my_index = index;
	ql_my_spr = ql_header->slots_per_ring;
	ql_my_mask = ql_my_spr - 1;
	ql_my_slots = ql_slots + (uint64) index * ql_my_spr * QL_SLOT_SIZE;
	ql_my_ring = &ql_rings[index];
	ql_my_proc = &ql_procs[index];
	on_shmem_exit(ql_producer_detach, (Datum) 0);
#ifdef MADV_POPULATE_WRITE

	/*
	 * Map the ring's pages now: otherwise the first lap of every new backend
	 * takes a page fault every sixteen records.  Kernels before 5.14 refuse
	 * the advice, which costs nothing but those faults.
	 */
	(void) madvise(ql_my_slots, ql_my_spr * QL_SLOT_SIZE, MADV_POPULATE_WRITE);
#endif
	return true;
}

/*
 * Appends one record to this process's ring (ql_producer_attach must have
 * succeeded).  The record's seq field is ignored; everything after it is
 * copied under the slot's seqlock.
 */
void
ql_ring_write(QlRecord *rec)
{
	QlRingHeader *ring = ql_my_ring;
	uint64		n = ring->head;
	QlRecord   *slot = (QlRecord *) (ql_my_slots + (n & ql_my_mask) * QL_SLOT_SIZE);

	if (n >= ql_my_spr)
	{
		volatile QlReaderPage *reader = ql_reader;

		if (reader->reader_pid != 0 && n - ql_my_spr >= reader->cursors[ql_my_index])
		{
			ring->overwritten_unread++;
			if (!ql_overwrite_warned)
			{
				ql_overwrite_warned = true;
				ql_overwrite_warn_pending = true;
			}
		}
	}
	if (unlikely(ring->pid != MyProcPid))
		ring->pid = MyProcPid;

	pg_atomic_write_u64((pg_atomic_uint64 *) &slot->seq, 2 * n + 1);
	pg_write_barrier();
	memcpy((char *) slot + sizeof(uint64), (char *) rec + sizeof(uint64),
		   QL_SLOT_SIZE - sizeof(uint64));
	pg_write_barrier();
	pg_atomic_write_u64((pg_atomic_uint64 *) &slot->seq, 2 * n + 2);
	pg_write_barrier();
	pg_atomic_write_u64((pg_atomic_uint64 *) &ring->head, n + 1);
}
