/*-------------------------------------------------------------------------
 *
 * proc_read.h
 *		Reading the few /proc files the collector's OS tier needs.
 *
 * See proc_read.c for why this exists and which paths it reads.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PROC_READ_H
#define PROC_READ_H

#include <stdint.h>

#define PROC_READ_EXPORT __attribute__((visibility("default")))

/* Refusals (negative return values besides -errno) */
#define PROC_READ_NOT_ALLOWED	(-100000)	/* the path is not one of the allowed files */
#define PROC_READ_TOO_LARGE		(-100001)	/* the file does not fit the buffer */

PROC_READ_EXPORT extern int32_t qlr_proc_read(const char *path, uint8_t *buf, uint32_t buf_len);

#endif							/* PROC_READ_H */
