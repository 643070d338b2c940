/*-------------------------------------------------------------------------
 *
 * querylens_reader.h
 *		Interface of the pg_querylens ring reader library (libpgquerylens).
 *
 * The library maps the pg_querylens shared-memory segment by name and copies
 * complete, seqlock-validated records into a buffer the caller owns.  It has
 * no threads and no callbacks: every call is a bounded memory copy, so it can
 * be called synchronously from Deno FFI.  See querylens_reader.c for the
 * design and README.md for the statuses.
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUERYLENS_READER_H
#define QUERYLENS_READER_H

#include <stdint.h>

/* qlr_open modes */
#define QLR_MODE_HEAD			0	/* start at each ring's head (skip history) */
#define QLR_MODE_OLDEST			1	/* start at the oldest retained record */
#define QLR_MODE_RESUME			2	/* published cursors of the same generation, else oldest */

/* Statuses (negative return values, or *err of qlr_open) */
#define QLR_OK					0
#define QLR_NO_SEGMENT			(-1)
#define QLR_PERMISSION			(-2)
#define QLR_BAD_MAGIC			(-3)
#define QLR_LAYOUT_MISMATCH		(-4)
#define QLR_GENERATION_CHANGED	(-5)
#define QLR_REPLACED			(-6)
#define QLR_NOT_READY			(-7)
#define QLR_INVALID_ARGUMENT	(-8)
#define QLR_OS_ERROR			(-9)

/* Indexes of the little-endian u64 words of the 64-byte stats buffer */
#define QLR_STAT_COPIED			0	/* records copied by this call */
#define QLR_STAT_LOST			1	/* records lost (lapped) found by this call */
#define QLR_STAT_TOTAL_COPIED	2	/* since open */
#define QLR_STAT_TOTAL_LOST		3	/* since open */
#define QLR_STAT_GENERATION		4	/* generation the reader follows */
#define QLR_STAT_RINGS_VISITED	5	/* rings visited by this call */
#define QLR_STAT_ERRNO			6	/* errno of an OS error */
#define QLR_STAT_WORDS			8
#define QLR_STATS_SIZE			(QLR_STAT_WORDS * 8)

/* The library is built with hidden visibility; only these symbols are exported. */
#define QLR_EXPORT __attribute__((visibility("default")))

typedef struct qlr_reader qlr_reader;

QLR_EXPORT extern qlr_reader *qlr_open(const char *name, int32_t mode, int32_t publish, int32_t *err);
QLR_EXPORT extern int32_t qlr_read(qlr_reader *r, uint8_t *buf, uint32_t buf_len, uint8_t *stats);
QLR_EXPORT extern int32_t qlr_header(qlr_reader *r, uint8_t *buf, uint32_t buf_len);
QLR_EXPORT extern void qlr_close(qlr_reader *r);
QLR_EXPORT extern uint32_t qlr_layout_version(void);
QLR_EXPORT extern uint32_t qlr_slot_size(void);
QLR_EXPORT extern int32_t qlr_offsets(uint32_t *out, uint32_t n);

#endif							/* QUERYLENS_READER_H */
