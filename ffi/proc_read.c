/*-------------------------------------------------------------------------
 *
 * proc_read.c
 *		Reads one allowed /proc file into a caller buffer.
 *
 * The collector runs under a scoped Deno permission set.  Deno refuses most
 * of /proc (per-process files, /proc/stat, /proc/sys) to any process that
 * does not run with every permission, whatever its read list says; the OS
 * tier and active session history need exactly those files.  Rather than
 * widen the permissions, the collector's own library, which it may already
 * load, reads them: and only them.  The path is checked here, in C, against
 * a fixed list, so granting FFI of this library does not grant reading
 * anything else:
 *
 *	 /proc/<pid>/{stat,schedstat,status,io,comm,cgroup}	 pid = 1..9 digits
 *	 /proc/self/stat, /proc/stat, /proc/uptime
 *	 /proc/pressure/{cpu,io,memory}
 *	 /proc/sys/kernel/task_delayacct
 *
 * The return value is the number of bytes read, -errno when the OS refused or
 * the file does not exist (ENOENT for a process that exited, EACCES for
 * /proc/<pid>/io of another user's process), or one of the PROC_READ_*
 * refusals.  No state, no threads, no callbacks.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include "proc_read.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const char *const per_process_files[] = {
	"stat", "schedstat", "status", "io", "comm", "cgroup", NULL
};

static const char *const fixed_files[] = {
	"/proc/self/stat", "/proc/stat", "/proc/uptime",
	"/proc/pressure/cpu", "/proc/pressure/io", "/proc/pressure/memory",
	"/proc/sys/kernel/task_delayacct", NULL
};

/* Whether path is one of the files listed in the header comment. */
static int
path_allowed(const char *path)
{
	const char *p;
	int			digits = 0;

	for (int i = 0; fixed_files[i] != NULL; i++)
		if (strcmp(path, fixed_files[i]) == 0)
			return 1;
	if (strncmp(path, "/proc/", 6) != 0)
		return 0;
	p = path + 6;
	while (*p >= '0' && *p <= '9')
	{
		p++;
		digits++;
	}
	if (digits == 0 || digits > 9 || path[6] == '0' || *p != '/')
		return 0;
	p++;
	for (int i = 0; per_process_files[i] != NULL; i++)
		if (strcmp(p, per_process_files[i]) == 0)
			return 1;
	return 0;
}

int32_t
qlr_proc_read(const char *path, uint8_t *buf, uint32_t buf_len)
{
	int			fd;
	uint32_t	used = 0;

	if (path == NULL || buf == NULL || !path_allowed(path))
		return PROC_READ_NOT_ALLOWED;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;)
	{
		ssize_t		n;

		if (used == buf_len)
		{
			char		extra;

			/* a full buffer is an error only if the file goes on */
			n = read(fd, &extra, 1);
			close(fd);
			return n == 0 ? (int32_t) used : PROC_READ_TOO_LARGE;
		}
		n = read(fd, buf + used, buf_len - used);
		if (n < 0)
		{
			int			saved = errno;

			if (saved == EINTR)
				continue;
			close(fd);
			return -saved;
		}
		if (n == 0)
			break;
		used += (uint32_t) n;
	}
	close(fd);
	return (int32_t) used;
}
