/*-------------------------------------------------------------------------
 *
 * bpf_loader.h
 *		Interface of libpgquerylens_bpf.so: loads the per-query OS delay
 *		program (bpf/pgql_delay.bpf.c) through libbpf, attaches it to one
 *		PostgreSQL server, and copies its events into caller buffers.
 *
 * All functions are synchronous and never call back into the caller.  A
 * tracer handle must not be used by two threads at once.  Messages are
 * written NUL-terminated into caller buffers and cut to fit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BPF_LOADER_H
#define BPF_LOADER_H

#include <stdint.h>

#define PQB_EXPORT __attribute__((visibility("default")))

/* Status codes (negative) of pqb_probe, pqb_open and pqb_poll. */
#define PQB_OK					0
#define PQB_NOT_PERMITTED		(-1)	/* neither CAP_SYS_ADMIN nor CAP_BPF with CAP_PERFMON */
#define PQB_NO_BTF				(-2)	/* the kernel exposes no BTF */
#define PQB_NO_BINARY			(-3)	/* the postmaster's executable cannot be resolved */
#define PQB_NO_USDT				(-4)	/* the binary has no PostgreSQL USDT probes */
#define PQB_NO_TRACEFS			(-5)	/* neither the uprobe PMU nor tracefs is available */
#define PQB_NO_OBJECT			(-6)	/* the BPF object file cannot be read */
#define PQB_LOAD_FAILED			(-7)	/* libbpf or the verifier refused the object */
#define PQB_ATTACH_FAILED		(-8)	/* a probe or tracepoint could not be attached */
#define PQB_INVALID				(-9)	/* invalid argument */
#define PQB_OS_ERROR			(-10)	/* other OS error */

typedef struct pqb_tracer pqb_tracer;

/* PGQL_ABI_VERSION of bpf/pgql_delay.h this library was built with. */
PQB_EXPORT uint32_t pqb_abi_version(void);

/* sizeof(struct pgql_event). */
PQB_EXPORT uint32_t pqb_event_size(void);

/*
 * offsetof of every struct pgql_event field, in declaration order, into
 * out[0..n-1]; returns the number of fields.
 */
PQB_EXPORT int32_t pqb_event_offsets(uint32_t *out, uint32_t n);

/* Number of counters (PGQL_NCOUNTERS). */
PQB_EXPORT uint32_t pqb_counter_count(void);

/*
 * Checks, without loading anything, whether the tier can run here for the
 * postmaster postmaster_pid: the object file, privileges, BTF, the uprobe
 * PMU or tracefs, the postmaster's executable and its USDT probes.  Returns
 * PQB_OK or the first missing requirement, with an explanation in msg.
 */
PQB_EXPORT int32_t pqb_probe(const char *object_path, int32_t postmaster_pid, char *msg,
							 uint32_t msg_len);

/*
 * Opens and loads the object with its configuration, attaches it to the
 * executable of postmaster_pid, and returns the tracer; NULL on failure
 * with the status in *status and the reason in msg (libbpf's messages,
 * the verifier log among them, are kept for pqb_log).
 */
PQB_EXPORT pqb_tracer *pqb_open(const char *object_path, int32_t postmaster_pid,
								uint64_t threshold_ns, uint32_t sample_every, int32_t *status,
								char *msg, uint32_t msg_len);

/*
 * Copies whole events (pqb_event_size() bytes each) from the ring buffer
 * into buf, at most as many as fit; waits up to timeout_ms for the first
 * when timeout_ms > 0.  Returns the number copied, or a negative status.
 */
PQB_EXPORT int32_t pqb_poll(pqb_tracer *t, uint8_t *buf, uint32_t buf_len, int32_t timeout_ms);

/* Sums each counter over the CPUs into out[0..n-1]; returns how many were written. */
PQB_EXPORT int32_t pqb_counters(pqb_tracer *t, uint64_t *out, uint32_t n);

/* What was attached, as a JSON object; returns its length or a negative status. */
PQB_EXPORT int32_t pqb_describe(pqb_tracer *t, char *buf, uint32_t buf_len);

/* The libbpf messages captured since the library was loaded (the newest 16 KiB). */
PQB_EXPORT int32_t pqb_log(char *buf, uint32_t buf_len);

/*
 * The parent pid and start time (ms since the epoch) of process pid, from
 * /proc/<pid>/stat and the boot time in /proc/stat, into out[0] and out[1].
 * Returns PQB_OK, PQB_NO_BINARY when there is no such process, or
 * PQB_OS_ERROR.
 */
PQB_EXPORT int32_t pqb_process_info(int32_t pid, uint64_t *out);

/* CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds (event times are monotonic). */
PQB_EXPORT int64_t pqb_clock_offset_ns(void);

/* Detaches every probe, frees the ring buffer and closes the object.  NULL is ignored. */
PQB_EXPORT void pqb_close(pqb_tracer *t);

#endif							/* BPF_LOADER_H */
