/*-------------------------------------------------------------------------
 *
 * bpf_loader.c
 *		Loader of the per-query OS delay program, over libbpf, loaded by the
 *		collector with Deno.dlopen (libpgquerylens_bpf.so).
 *
 * The collector never talks to the bpf() system call itself.  This library
 * does, for one PostgreSQL server at a time:
 *
 * - pqb_probe tells, without loading anything, whether the tier can run:
 *	 the object file is readable; the process has CAP_SYS_ADMIN, or CAP_BPF
 *	 and CAP_PERFMON; the kernel exposes BTF (the scheduler hooks are
 *	 tp_btf programs); uprobes can be created (the uprobe PMU, else tracefs
 *	 for legacy uprobes); the postmaster's executable can be opened through
 *	 /proc/<pid>/exe (another user's process needs CAP_SYS_PTRACE); and it
 *	 carries PostgreSQL's USDT notes (a build with --enable-dtrace).  The
 *	 first missing requirement is returned with a sentence that says what to
 *	 do.
 *
 * - pqb_open repeats those checks, reads from the executable (libelf) the
 *	 address of the exported global debug_query_string and from
 *	 /proc/<pid>/maps where the postmaster mapped the executable; backends
 *	 are forked from the postmaster without exec, so the variable has that
 *	 address in every backend.  It writes the configuration (threshold,
 *	 sampling, that address, the postmaster's pid) into the object's
 *	 read-only data, loads the object, attaches the USDT programs with
 *	 libbpf's USDT support at every site of their probes (pid -1: backends
 *	 forked later are traced too; the program filters on the parent pid),
 *	 the error-recovery uprobe by symbol when the symbol exists, and the
 *	 scheduler tracepoints, then creates the ring-buffer reader.  The path
 *	 attached is /proc/<pid>/exe, which the kernel resolves to the inode the
 *	 postmaster runs even when the file was replaced since.  Any failure
 *	 undoes everything done so far.
 *
 * - pqb_poll copies whole events into the caller's buffer.  libbpf counts
 *	 a sample as consumed before it hands it over, so the callback copies
 *	 first and then stops the read when the next event would not fit.
 *
 * - pqb_close destroys every link, the ring buffer and the object.  Nothing
 *	 is pinned: if the process dies, the kernel drops the programs with its
 *	 file descriptors.
 *
 * libbpf's messages (the verifier log of a refused program among them) are
 * captured into a buffer that pqb_log returns and that failures quote.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include "bpf_loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "../bpf/pgql_delay.h"

#define BTF_PATH			"/sys/kernel/btf/vmlinux"
#define UPROBE_PMU_PATH		"/sys/bus/event_source/devices/uprobe/type"
#define LOG_CAPACITY		16384
#define MAX_LINKS			32

/* Capability bits (linux/capability.h). */
#define CAP_SYS_ADMIN_BIT	21
#define CAP_PERFMON_BIT		38
#define CAP_BPF_BIT			39

/* A USDT probe of PostgreSQL and the program attached to it. */
typedef struct
{
	const char *program;
	const char *probe;
} UsdtTarget;

static const UsdtTarget usdt_targets[] = {
	{"query_start", "query__start"},
	{"query_done", "query__done"},
	{"execute_start", "query__execute__start"},
	{"execute_done", "query__execute__done"},
	{"transaction_abort", "transaction__abort"},
};

#define N_USDT (sizeof(usdt_targets) / sizeof(usdt_targets[0]))

static const char *const tracepoint_programs[] = {"on_switch", "on_wakeup", "on_exit"};

#define N_TRACEPOINTS (sizeof(tracepoint_programs) / sizeof(tracepoint_programs[0]))

/* Symbol whose entry closes a query that failed inside a subtransaction. */
#define ERROR_RECOVERY_SYMBOL "AbortCurrentTransaction"

/* What the executable tells about itself. */
typedef struct
{
	bool		usdt[N_USDT];	/* which probes have at least one site */
	uint64_t	dqs_vaddr;		/* debug_query_string, 0 when absent */
	bool		error_symbol;	/* ERROR_RECOVERY_SYMBOL is exported */
	uint64_t	min_load_vaddr; /* lowest PT_LOAD address */
} ElfFacts;

struct pqb_tracer
{
	struct bpf_object *obj;
	struct bpf_link *links[MAX_LINKS];
	int			nlinks;
	int			usdt_links;
	int			tracepoint_links;
	bool		error_probe;
	struct ring_buffer *ring;
	int			counters_fd;
	int			ncpus;
	int32_t		postmaster_pid;
	char		exe_path[4096]; /* what /proc/<pid>/exe pointed to */
	char		attach_path[64];	/* /proc/<pid>/exe */
	uint64_t	dqs_addr;
	uint64_t	threshold_ns;
	uint32_t	sample_every;
	/* the poll in progress */
	uint8_t    *dst;
	uint32_t	dst_len;
	uint32_t	dst_used;
	int32_t		copied;
	uint64_t	bad_samples;
};

/* Returned by the ring-buffer callback to stop when the buffer is full. */
#define STOP_FULL (-4096)

static char log_text[LOG_CAPACITY];
static size_t log_used;

/* Keeps libbpf's warnings and notes, the newest LOG_CAPACITY bytes. */
static int
capture_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char		line[2048];
	int			n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, args);
	if (n <= 0)
		return 0;
	if ((size_t) n >= sizeof(line))
		n = sizeof(line) - 1;
	if (log_used + (size_t) n >= LOG_CAPACITY)
	{
		size_t		drop = log_used + (size_t) n - LOG_CAPACITY + 1;

		if (drop > log_used)
			drop = log_used;
		memmove(log_text, log_text + drop, log_used - drop);
		log_used -= drop;
	}
	memcpy(log_text + log_used, line, (size_t) n);
	log_used += (size_t) n;
	log_text[log_used] = '\0';
	return n;
}

static void
say(char *msg, uint32_t msg_len, const char *fmt,...)
{
	va_list		args;

	if (msg == NULL || msg_len == 0)
		return;
	va_start(args, fmt);
	vsnprintf(msg, msg_len, fmt, args);
	va_end(args);
}

/* Appends the last lines of the libbpf log (at most room bytes) to msg. */
static void
append_log_tail(char *msg, uint32_t msg_len, size_t since)
{
	size_t		used;
	size_t		room;
	const char *tail;

	if (msg == NULL || msg_len == 0 || log_used <= since)
		return;
	used = strlen(msg);
	if (used + 32 >= msg_len)
		return;
	room = msg_len - used - 16;
	tail = log_text + since;
	if (log_used - since > room)
		tail = log_text + log_used - room;
	snprintf(msg + used, msg_len - used, "; libbpf: %s", tail);
	/* newlines become spaces: the message stays on one line */
	for (char *p = msg + used; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

static bool
has_capability(uint64_t caps, int bit)
{
	return (caps >> bit) & 1;
}

/* The effective capabilities of this process, from /proc/self/status. */
static bool
effective_caps(uint64_t *caps)
{
	FILE	   *f = fopen("/proc/self/status", "re");
	char		line[256];
	bool		found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
	{
		if (strncmp(line, "CapEff:", 7) == 0)
		{
			*caps = strtoull(line + 7, NULL, 16);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static bool
tracefs_mounted(void)
{
	return access("/sys/kernel/tracing/uprobe_events", F_OK) == 0 ||
		access("/sys/kernel/debug/tracing/uprobe_events", F_OK) == 0;
}

/* Reads the USDT notes, .dynsym and program headers of the executable. */
static int32_t
scan_executable(const char *path, ElfFacts *facts, char *msg, uint32_t msg_len)
{
	int			fd;
	Elf		   *elf;
	size_t		shstrndx;
	size_t		nphdr;
	Elf_Scn    *scn = NULL;
	int			elf_class;

	memset(facts, 0, sizeof(*facts));
	facts->min_load_vaddr = UINT64_MAX;
	if (elf_version(EV_CURRENT) == EV_NONE)
	{
		say(msg, msg_len, "libelf is unusable: %s", elf_errmsg(-1));
		return PQB_OS_ERROR;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		int			e = errno;

		say(msg, msg_len, "cannot open the server executable %s: %s%s", path, strerror(e),
			e == EACCES || e == EPERM ?
			" (another user's process: run the collector as root or with CAP_SYS_PTRACE)" : "");
		return PQB_NO_BINARY;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf == NULL || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0 ||
		elf_getphdrnum(elf, &nphdr) != 0)
	{
		say(msg, msg_len, "the server executable %s is not a readable ELF file: %s", path,
			elf_errmsg(-1));
		if (elf)
			elf_end(elf);
		close(fd);
		return PQB_NO_BINARY;
	}
	elf_class = gelf_getclass(elf);
	for (size_t i = 0; i < nphdr; i++)
	{
		GElf_Phdr	ph;

		if (gelf_getphdr(elf, (int) i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < facts->min_load_vaddr)
			facts->min_load_vaddr = ph.p_vaddr;
	}
	while ((scn = elf_nextscn(elf, scn)) != NULL)
	{
		GElf_Shdr	sh;
		const char *name;
		Elf_Data   *data;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_NOTE && name && strcmp(name, ".note.stapsdt") == 0)
		{
			size_t		off = 0;
			size_t		name_off;
			size_t		desc_off;
			GElf_Nhdr	nh;
			size_t		addr_bytes = elf_class == ELFCLASS32 ? 4 : 8;

			data = elf_getdata(scn, NULL);
			while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0)
			{
				const char *owner = (const char *) data->d_buf + name_off;
				const char *desc = (const char *) data->d_buf + desc_off;
				const char *provider;
				const char *probe;
				size_t		strings;
				size_t		provider_len;

				if (nh.n_type != 3 || strcmp(owner, "stapsdt") != 0 || nh.n_descsz <= 3 * addr_bytes)
					continue;
				/* three addresses, then provider, name and arguments, each NUL-terminated */
				provider = desc + 3 * addr_bytes;
				strings = nh.n_descsz - 3 * addr_bytes;
				provider_len = strnlen(provider, strings);
				if (provider_len + 1 >= strings)
					continue;
				probe = provider + provider_len + 1;
				if (strnlen(probe, strings - provider_len - 1) >= strings - provider_len - 1)
					continue;
				if (strcmp(provider, "postgresql") != 0)
					continue;
				for (size_t k = 0; k < N_USDT; k++)
					if (strcmp(probe, usdt_targets[k].probe) == 0)
						facts->usdt[k] = true;
			}
		}
		else if (sh.sh_type == SHT_DYNSYM && sh.sh_entsize > 0)
		{
			size_t		n = sh.sh_size / sh.sh_entsize;

			data = elf_getdata(scn, NULL);
			for (size_t i = 0; data && i < n; i++)
			{
				GElf_Sym	sym;
				const char *sname;

				if (!gelf_getsym(data, (int) i, &sym) || sym.st_shndx == SHN_UNDEF)
					continue;
				sname = elf_strptr(elf, sh.sh_link, sym.st_name);
				if (!sname)
					continue;
				if (strcmp(sname, "debug_query_string") == 0)
					facts->dqs_vaddr = sym.st_value;
				else if (strcmp(sname, ERROR_RECOVERY_SYMBOL) == 0)
					facts->error_symbol = true;
			}
		}
	}
	elf_end(elf);
	close(fd);
	if (facts->min_load_vaddr == UINT64_MAX)
		facts->min_load_vaddr = 0;
	return PQB_OK;
}

/* Names of the probes the executable lacks, comma-separated. */
static void
missing_probes(const ElfFacts *facts, char *out, size_t out_len)
{
	out[0] = '\0';
	for (size_t k = 0; k < N_USDT; k++)
	{
		if (facts->usdt[k])
			continue;
		if (out[0])
			strncat(out, ", ", out_len - strlen(out) - 1);
		strncat(out, usdt_targets[k].probe, out_len - strlen(out) - 1);
	}
}

/* Checks every requirement; on success fills facts and the executable's paths. */
static int32_t
check(const char *object_path, int32_t pid, ElfFacts *facts, char *exe_path, size_t exe_len,
	  char *attach_path, size_t attach_len, char *msg, uint32_t msg_len)
{
	uint64_t	caps = 0;
	ssize_t		n;
	int32_t		status;
	char		missing[256];

	if (object_path == NULL || object_path[0] == '\0' || pid <= 0)
	{
		say(msg, msg_len, "invalid argument: an object path and a postmaster pid > 0 are required");
		return PQB_INVALID;
	}
	if (access(object_path, R_OK) != 0)
	{
		say(msg, msg_len, "cannot read the BPF object %s: %s (build it with \"make -C bpf\"; it needs %s)",
			object_path, strerror(errno), BTF_PATH);
		return PQB_NO_OBJECT;
	}
	if (!effective_caps(&caps))
	{
		say(msg, msg_len, "cannot read this process's capabilities from /proc/self/status");
		return PQB_OS_ERROR;
	}
	if (!has_capability(caps, CAP_SYS_ADMIN_BIT) &&
		!(has_capability(caps, CAP_BPF_BIT) && has_capability(caps, CAP_PERFMON_BIT)))
	{
		say(msg, msg_len,
			"not permitted: loading BPF programs needs root, or CAP_BPF and CAP_PERFMON "
			"(this process has effective capabilities 0x%llx)", (unsigned long long) caps);
		return PQB_NOT_PERMITTED;
	}
	if (access(BTF_PATH, R_OK) != 0)
	{
		say(msg, msg_len, "the kernel exposes no BTF (%s: %s): the scheduler hooks need it "
			"(CONFIG_DEBUG_INFO_BTF)", BTF_PATH, strerror(errno));
		return PQB_NO_BTF;
	}
	if (access(UPROBE_PMU_PATH, R_OK) != 0 && !tracefs_mounted())
	{
		say(msg, msg_len, "uprobes cannot be created: no uprobe PMU (%s) and tracefs is not mounted "
			"(mount -t tracefs nodev /sys/kernel/tracing)", UPROBE_PMU_PATH);
		return PQB_NO_TRACEFS;
	}
	snprintf(attach_path, attach_len, "/proc/%d/exe", (int) pid);
	n = readlink(attach_path, exe_path, exe_len - 1);
	if (n < 0)
	{
		int			e = errno;

		say(msg, msg_len, "cannot resolve the server executable %s: %s%s", attach_path, strerror(e),
			e == ENOENT ? " (no such process: is the server running on this host?)" :
			e == EACCES || e == EPERM ?
			" (another user's process: run the collector as root or with CAP_SYS_PTRACE)" : "");
		return PQB_NO_BINARY;
	}
	exe_path[n] = '\0';
	status = scan_executable(attach_path, facts, msg, msg_len);
	if (status != PQB_OK)
		return status;
	missing_probes(facts, missing, sizeof(missing));
	if (missing[0])
	{
		say(msg, msg_len, "the server executable %s lacks the USDT probes %s (PostgreSQL must be built "
			"with --enable-dtrace, as Debian's packages are)", exe_path, missing);
		return PQB_NO_USDT;
	}
	return PQB_OK;
}

PQB_EXPORT uint32_t
pqb_abi_version(void)
{
	return PGQL_ABI_VERSION;
}

PQB_EXPORT uint32_t
pqb_event_size(void)
{
	return (uint32_t) sizeof(struct pgql_event);
}

PQB_EXPORT int32_t
pqb_event_offsets(uint32_t *out, uint32_t n)
{
	const uint32_t offsets[] = {
		offsetof(struct pgql_event, pid),
		offsetof(struct pgql_event, protocol),
		offsetof(struct pgql_event, flags),
		offsetof(struct pgql_event, text_len),
		offsetof(struct pgql_event, start_ns),
		offsetof(struct pgql_event, end_ns),
		offsetof(struct pgql_event, oncpu_ns),
		offsetof(struct pgql_event, runq_ns),
		offsetof(struct pgql_event, io_ns),
		offsetof(struct pgql_event, sleep_ns),
		offsetof(struct pgql_event, switches),
		offsetof(struct pgql_event, reserved),
		offsetof(struct pgql_event, text),
	};
	uint32_t	count = (uint32_t) (sizeof(offsets) / sizeof(offsets[0]));

	if (out)
		for (uint32_t i = 0; i < n && i < count; i++)
			out[i] = offsets[i];
	return (int32_t) count;
}

PQB_EXPORT uint32_t
pqb_counter_count(void)
{
	return PGQL_NCOUNTERS;
}

PQB_EXPORT int32_t
pqb_probe(const char *object_path, int32_t postmaster_pid, char *msg, uint32_t msg_len)
{
	ElfFacts	facts;
	char		exe[4096];
	char		attach[64];
	int32_t		status;

	status = check(object_path, postmaster_pid, &facts, exe, sizeof(exe), attach, sizeof(attach),
				   msg, msg_len);
	if (status == PQB_OK)
		say(msg, msg_len, "ok: %s has the probes%s", exe,
			facts.dqs_vaddr ? "" : " (no debug_query_string: no text for the extended protocol)");
	return status;
}

/* Where the postmaster mapped the executable: its load bias. */
static int32_t
load_bias(int32_t pid, const char *attach_path, uint64_t min_load_vaddr, uint64_t *bias,
		  char *msg, uint32_t msg_len)
{
	char		maps_path[64];
	char		line[4352];
	struct stat st;
	FILE	   *f;
	long		page = sysconf(_SC_PAGESIZE);

	if (stat(attach_path, &st) != 0)
	{
		say(msg, msg_len, "cannot stat %s: %s", attach_path, strerror(errno));
		return PQB_NO_BINARY;
	}
	snprintf(maps_path, sizeof(maps_path), "/proc/%d/maps", (int) pid);
	f = fopen(maps_path, "re");
	if (!f)
	{
		say(msg, msg_len, "cannot read %s: %s", maps_path, strerror(errno));
		return errno == EACCES || errno == EPERM ? PQB_NOT_PERMITTED : PQB_NO_BINARY;
	}
	while (fgets(line, sizeof(line), f))
	{
		unsigned long long start;
		unsigned long long end;
		unsigned long long offset;
		unsigned long long inode;
		char		perms[8];
		char		dev[32];

		if (sscanf(line, "%llx-%llx %7s %llx %31s %llu", &start, &end, perms, &offset, dev, &inode) != 6)
			continue;
		if (offset == 0 && inode == (unsigned long long) st.st_ino)
		{
			fclose(f);
			*bias = start - (min_load_vaddr & ~((uint64_t) page - 1));
			return PQB_OK;
		}
	}
	fclose(f);
	say(msg, msg_len, "the executable is not mapped in %s", maps_path);
	return PQB_NO_BINARY;
}

/* Writes the configuration into the object's .rodata variable pgql_cfg. */
static int32_t
set_config(struct bpf_object *obj, const struct pgql_config *cfg, char *msg, uint32_t msg_len)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;
	struct bpf_map *rodata = NULL;
	const struct btf_type *sec;
	const struct btf_var_secinfo *vars;
	int			id;
	size_t		size = 0;
	const void *initial;
	uint8_t    *data;
	int32_t		status = PQB_LOAD_FAILED;

	bpf_object__for_each_map(map, obj)
	{
		const char *name = bpf_map__name(map);
		size_t		len = strlen(name);

		if (bpf_map__is_internal(map) && len >= 7 && strcmp(name + len - 7, ".rodata") == 0)
			rodata = map;
	}
	id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -1;
	if (!rodata || id < 0)
	{
		say(msg, msg_len, "the BPF object has no .rodata section with BTF");
		return PQB_LOAD_FAILED;
	}
	initial = bpf_map__initial_value(rodata, &size);
	data = initial && size > 0 ? malloc(size) : NULL;
	if (!data)
	{
		say(msg, msg_len, "the BPF object's .rodata has no initial value");
		return PQB_LOAD_FAILED;
	}
	memcpy(data, initial, size);
	sec = btf__type_by_id(btf, (uint32_t) id);
	vars = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++)
	{
		const struct btf_type *var = btf__type_by_id(btf, vars[i].type);
		const char *name = btf__name_by_offset(btf, var->name_off);

		if (name && strcmp(name, "pgql_cfg") == 0)
		{
			if (vars[i].size != sizeof(*cfg) || vars[i].offset + sizeof(*cfg) > size)
				break;
			memcpy(data + vars[i].offset, cfg, sizeof(*cfg));
			if (bpf_map__set_initial_value(rodata, data, size) == 0)
				status = PQB_OK;
			else
				say(msg, msg_len, "cannot set the BPF object's configuration: %s", strerror(errno));
			free(data);
			return status;
		}
	}
	free(data);
	say(msg, msg_len, "the BPF object has no pgql_cfg of %zu bytes: it was built from another "
		"bpf/pgql_delay.h", sizeof(*cfg));
	return status;
}

static int
on_sample(void *ctx, void *data, size_t size)
{
	pqb_tracer *t = ctx;

	if (size < sizeof(struct pgql_event))
	{
		t->bad_samples++;
		return 0;
	}
	memcpy(t->dst + t->dst_used, data, sizeof(struct pgql_event));
	t->dst_used += sizeof(struct pgql_event);
	t->copied++;
	if (t->dst_used + sizeof(struct pgql_event) > t->dst_len)
		return STOP_FULL;
	return 0;
}

static bool
keep_link(pqb_tracer *t, struct bpf_link *link)
{
	if (t->nlinks >= MAX_LINKS)
	{
		bpf_link__destroy(link);
		return false;
	}
	t->links[t->nlinks++] = link;
	return true;
}

static int32_t
attach_all(pqb_tracer *t, const ElfFacts *facts, char *msg, uint32_t msg_len, size_t log_mark)
{
	for (size_t k = 0; k < N_USDT; k++)
	{
		struct bpf_program *prog = bpf_object__find_program_by_name(t->obj, usdt_targets[k].program);
		struct bpf_link *link;

		if (!prog)
		{
			say(msg, msg_len, "the BPF object has no program %s", usdt_targets[k].program);
			return PQB_LOAD_FAILED;
		}
		link = bpf_program__attach_usdt(prog, -1, t->attach_path, "postgresql", usdt_targets[k].probe,
										NULL);
		if (!link || !keep_link(t, link))
		{
			int			e = errno;

			say(msg, msg_len, "cannot attach USDT probe postgresql:%s of %s: %s", usdt_targets[k].probe,
				t->exe_path, strerror(e));
			append_log_tail(msg, msg_len, log_mark);
			return e == EPERM || e == EACCES ? PQB_NOT_PERMITTED : PQB_ATTACH_FAILED;
		}
		t->usdt_links++;
	}
	if (facts->error_symbol)
	{
		struct bpf_program *prog = bpf_object__find_program_by_name(t->obj, "error_recovery");
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = ERROR_RECOVERY_SYMBOL);
		struct bpf_link *link = prog ?
			bpf_program__attach_uprobe_opts(prog, -1, t->attach_path, 0, &opts) : NULL;

		/* optional: without it, a failure in a subtransaction is closed by the next query */
		if (link && keep_link(t, link))
			t->error_probe = true;
	}
	for (size_t k = 0; k < N_TRACEPOINTS; k++)
	{
		struct bpf_program *prog = bpf_object__find_program_by_name(t->obj, tracepoint_programs[k]);
		struct bpf_link *link = prog ? bpf_program__attach(prog) : NULL;

		if (!link || !keep_link(t, link))
		{
			int			e = errno;

			say(msg, msg_len, "cannot attach the scheduler hook %s: %s", tracepoint_programs[k],
				strerror(e));
			append_log_tail(msg, msg_len, log_mark);
			return e == EPERM || e == EACCES ? PQB_NOT_PERMITTED : PQB_ATTACH_FAILED;
		}
		t->tracepoint_links++;
	}
	return PQB_OK;
}

PQB_EXPORT pqb_tracer *
pqb_open(const char *object_path, int32_t postmaster_pid, uint64_t threshold_ns, uint32_t sample_every,
		 int32_t *status, char *msg, uint32_t msg_len)
{
	pqb_tracer *t;
	ElfFacts	facts;
	struct pgql_config cfg;
	uint64_t	bias = 0;
	int32_t		st;
	int			err;
	size_t		log_mark;
	struct bpf_map *events;
	struct bpf_map *counters;

	libbpf_set_print(capture_print);
	log_mark = log_used;
	if (status)
		*status = PQB_OK;
	if (sample_every == 0)
	{
		say(msg, msg_len, "invalid argument: sample_every must be at least 1");
		if (status)
			*status = PQB_INVALID;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
	{
		say(msg, msg_len, "out of memory");
		if (status)
			*status = PQB_OS_ERROR;
		return NULL;
	}
	t->counters_fd = -1;
	t->postmaster_pid = postmaster_pid;
	t->threshold_ns = threshold_ns;
	t->sample_every = sample_every;
	st = check(object_path, postmaster_pid, &facts, t->exe_path, sizeof(t->exe_path), t->attach_path,
			   sizeof(t->attach_path), msg, msg_len);
	if (st != PQB_OK)
		goto fail;
	/* without the mapping, extended-protocol queries get no text; nothing else depends on it */
	if (facts.dqs_vaddr != 0 &&
		load_bias(postmaster_pid, t->attach_path, facts.min_load_vaddr, &bias, msg, msg_len) == PQB_OK)
		t->dqs_addr = bias + facts.dqs_vaddr;

	t->obj = bpf_object__open_file(object_path, NULL);
	if (!t->obj)
	{
		say(msg, msg_len, "cannot open the BPF object %s: %s", object_path, strerror(errno));
		append_log_tail(msg, msg_len, log_mark);
		st = PQB_LOAD_FAILED;
		goto fail;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.threshold_ns = threshold_ns;
	cfg.dqs_addr = t->dqs_addr;
	cfg.sample_every = sample_every;
	cfg.postmaster_tgid = (uint32_t) postmaster_pid;
	st = set_config(t->obj, &cfg, msg, msg_len);
	if (st != PQB_OK)
		goto fail;
	err = bpf_object__load(t->obj);
	if (err)
	{
		say(msg, msg_len, "the kernel refused the BPF object %s: %s", object_path, strerror(-err));
		append_log_tail(msg, msg_len, log_mark);
		st = err == -EPERM || err == -EACCES ? PQB_NOT_PERMITTED : PQB_LOAD_FAILED;
		goto fail;
	}
	st = attach_all(t, &facts, msg, msg_len, log_mark);
	if (st != PQB_OK)
		goto fail;
	events = bpf_object__find_map_by_name(t->obj, "events");
	counters = bpf_object__find_map_by_name(t->obj, "counters");
	if (!events || !counters)
	{
		say(msg, msg_len, "the BPF object lacks its events or counters map");
		st = PQB_LOAD_FAILED;
		goto fail;
	}
	t->counters_fd = bpf_map__fd(counters);
	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0)
	{
		say(msg, msg_len, "cannot count the possible CPUs: %s", strerror(-t->ncpus));
		st = PQB_OS_ERROR;
		goto fail;
	}
	t->ring = ring_buffer__new(bpf_map__fd(events), on_sample, t, NULL);
	if (!t->ring)
	{
		say(msg, msg_len, "cannot read the ring buffer: %s", strerror(errno));
		st = PQB_OS_ERROR;
		goto fail;
	}
	say(msg, msg_len, "attached to %s: %d USDT probes, %d scheduler hooks%s", t->exe_path, t->usdt_links,
		t->tracepoint_links, t->error_probe ? ", error recovery" : "");
	return t;

fail:
	if (status)
		*status = st;
	pqb_close(t);
	return NULL;
}

PQB_EXPORT int32_t
pqb_poll(pqb_tracer *t, uint8_t *buf, uint32_t buf_len, int32_t timeout_ms)
{
	int			res;

	if (!t || !buf || buf_len < sizeof(struct pgql_event))
		return PQB_INVALID;
	t->dst = buf;
	t->dst_len = buf_len;
	t->dst_used = 0;
	t->copied = 0;
	res = timeout_ms > 0 ? ring_buffer__poll(t->ring, timeout_ms) : ring_buffer__consume(t->ring);
	t->dst = NULL;
	if (res < 0 && res != STOP_FULL && res != -EINTR && t->copied == 0)
		return PQB_OS_ERROR;
	return t->copied;
}

PQB_EXPORT int32_t
pqb_counters(pqb_tracer *t, uint64_t *out, uint32_t n)
{
	uint64_t   *values;
	uint32_t	count = n < PGQL_NCOUNTERS ? n : PGQL_NCOUNTERS;

	if (!t || !out || t->counters_fd < 0)
		return PQB_INVALID;
	values = calloc((size_t) t->ncpus, sizeof(uint64_t));
	if (!values)
		return PQB_OS_ERROR;
	for (uint32_t i = 0; i < count; i++)
	{
		uint64_t	sum = 0;

		if (bpf_map_lookup_elem(t->counters_fd, &i, values) != 0)
		{
			free(values);
			return PQB_OS_ERROR;
		}
		for (int c = 0; c < t->ncpus; c++)
			sum += values[c];
		out[i] = sum;
	}
	free(values);
	return (int32_t) count;
}

/* Writes s as a JSON string body (quotes and backslashes escaped, control characters dropped). */
static size_t
json_text(char *out, size_t room, const char *s)
{
	size_t		n = 0;

	for (; *s && n + 2 < room; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c < 0x20)
			continue;
		if (c == '"' || c == '\\')
			out[n++] = '\\';
		out[n++] = (char) c;
	}
	out[n] = '\0';
	return n;
}

PQB_EXPORT int32_t
pqb_describe(pqb_tracer *t, char *buf, uint32_t buf_len)
{
	char		exe[4096 * 2 + 1];
	int			n;

	if (!t || !buf || buf_len == 0)
		return PQB_INVALID;
	json_text(exe, sizeof(exe), t->exe_path);
	n = snprintf(buf, buf_len,
				 "{\"postmaster_pid\":%d,\"executable\":\"%s\",\"usdt_links\":%d,\"tracepoint_links\":%d,"
				 "\"error_probe\":%s,\"query_text_extended\":%s,\"threshold_ns\":%llu,\"sample_every\":%u,"
				 "\"bad_samples\":%llu}",
				 (int) t->postmaster_pid, exe, t->usdt_links, t->tracepoint_links,
				 t->error_probe ? "true" : "false", t->dqs_addr ? "true" : "false",
				 (unsigned long long) t->threshold_ns, t->sample_every,
				 (unsigned long long) t->bad_samples);
	if (n < 0 || (uint32_t) n >= buf_len)
		return PQB_INVALID;
	return n;
}

PQB_EXPORT int32_t
pqb_log(char *buf, uint32_t buf_len)
{
	size_t		n;

	if (!buf || buf_len == 0)
		return PQB_INVALID;
	n = log_used < buf_len - 1 ? log_used : buf_len - 1;
	memcpy(buf, log_text + log_used - n, n);
	buf[n] = '\0';
	return (int32_t) n;
}

/* The boot time of this host, seconds since the epoch (btime of /proc/stat); 0 when unknown. */
static uint64_t
boot_time_s(void)
{
	FILE	   *f = fopen("/proc/stat", "re");
	char		line[512];
	uint64_t	btime = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
	{
		if (strncmp(line, "btime ", 6) == 0)
		{
			btime = strtoull(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return btime;
}

PQB_EXPORT int32_t
pqb_process_info(int32_t pid, uint64_t *out)
{
	char		path[64];
	char		text[1024];
	size_t		n;
	FILE	   *f;
	const char *p;
	unsigned long long ppid = 0;
	unsigned long long start_ticks = 0;
	uint64_t	btime;
	long		hz = sysconf(_SC_CLK_TCK);

	if (pid <= 0 || !out)
		return PQB_INVALID;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? PQB_NO_BINARY : PQB_OS_ERROR;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* the command name is parenthesized and may hold anything: count fields after the last ')' */
	p = strrchr(text, ')');
	if (!p || hz <= 0)
		return PQB_OS_ERROR;
	/* field 3 is the state, 4 the ppid, 22 the start time: 17 fields lie between */
	if (sscanf(p + 1, " %*s %llu %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			   &ppid, &start_ticks) != 2)
		return PQB_OS_ERROR;
	btime = boot_time_s();
	if (btime == 0)
		return PQB_OS_ERROR;
	out[0] = ppid;
	out[1] = btime * 1000 + (uint64_t) start_ticks * 1000 / (uint64_t) hz;
	return PQB_OK;
}

PQB_EXPORT int64_t
pqb_clock_offset_ns(void)
{
	struct timespec m1;
	struct timespec r;
	struct timespec m2;
	int64_t		mono;
	int64_t		real;

	clock_gettime(CLOCK_MONOTONIC, &m1);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m2);
	mono = ((int64_t) m1.tv_sec * 1000000000 + m1.tv_nsec + (int64_t) m2.tv_sec * 1000000000 +
			m2.tv_nsec) / 2;
	real = (int64_t) r.tv_sec * 1000000000 + r.tv_nsec;
	return real - mono;
}

PQB_EXPORT void
pqb_close(pqb_tracer *t)
{
	if (!t)
		return;
	if (t->ring)
		ring_buffer__free(t->ring);
	for (int i = t->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(t->links[i]);
	if (t->obj)
		bpf_object__close(t->obj);
	free(t);
}
