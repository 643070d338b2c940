/**
 * The deployment files.
 *
 * - The infrastructure-agent config in deploy/newrelic runs pgquerylens with nri-postgresql's
 *   environment: it parses, it keeps the integration's name, its `exec` is the collector, and every
 *   variable in its `env` is one the collector reads and accepts.
 * - The systemd unit in deploy/systemd runs the collector as a hardened daemon: its command line and
 *   environment (unit, environment file, eBPF drop-in, TOML example) load into the intended
 *   configuration; systemd itself verifies the unit, reads the environment file as parsed here, and
 *   rates its exposure; the system call filter allows what the collector was measured calling.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ENV_NAMES, loadConfig } from "../src/config/mod.ts";
import { resolveOtelSettings } from "../src/otel_adapter/settings.ts";
import {
  environmentOf,
  execStart,
  isSet,
  parseEnvFile,
  parseUnit,
  referencedVariables,
  serviceEnvironment,
  type Unit,
  value,
  values,
  withDropIns,
} from "./support/systemd_unit.ts";
import {
  allowedSyscalls,
  analyze,
  envFileMismatches,
  security,
  stageUnit,
  syscallGroups,
} from "./support/systemd_analyze.ts";

const text = await Deno.readTextFile(new URL("../deploy/newrelic/postgresql-config.yml", import.meta.url));

Deno.test("the agent config swaps the binary and keeps nri-postgresql's contract", () => {
  const doc = parse(text) as {
    integrations: {
      name: string;
      exec: string;
      env: Record<string, string>;
      interval: string;
      inventory_source: string;
    }[];
  };
  assert.equal(doc.integrations.length, 1);
  const it = doc.integrations[0];
  assert.equal(it.name, "nri-postgresql");
  assert.equal(it.exec, "/usr/local/bin/pgquerylens-collector");
  assert.equal(it.inventory_source, "config/postgresql");
  for (const name of Object.keys(it.env)) {
    assert.ok(ENV_NAMES.includes(name), `${name} is not read by the collector`);
  }
  for (const v of Object.values(it.env)) {
    assert.equal(typeof v, "string", "the agent passes env values as strings");
  }
  const { config } = loadConfig([], { env: (n) => it.env[n], readTextFile: () => "" });
  assert.equal(config.username, "newrelic");
  assert.equal(config.enableQueryMonitoring, true);
  assert.equal(config.collectionList, '["postgres"]');
  assert.equal(config.intervalSeconds, undefined, "the agent schedules runs: one cycle per start");
});

Deno.test("exactly one line differs from the nri-postgresql form of the same config", () => {
  const lines = text.split("\n").filter((l) => !l.trimStart().startsWith("#"));
  const changed = lines.filter((l) => /^\s*exec:/.test(l));
  assert.equal(changed.length, 1);
  const withoutExec = lines.filter((l) => !/^\s*exec:/.test(l)).join("\n");
  assert.ok(!withoutExec.includes("pgquerylens"), "nothing else names pgquerylens");
});

// ---------------------------------------------------------------------------------------------------
// The systemd unit in deploy/systemd: pgquerylens-collector as a hardened daemon on the database host.

const SYSTEMD = new URL("../deploy/systemd/", import.meta.url);
const deployText = (name: string) => Deno.readTextFileSync(new URL(name, SYSTEMD));
const BINARY = "/usr/local/bin/pgquerylens-collector";
const SERVICE = "pgquerylens.service";
const unitText = deployText(SERVICE);
const ebpfText = deployText("ebpf.conf");
const envText = deployText("pgquerylens.env");
const unit = parseUnit(unitText);
const ebpfDropIn = parseUnit(ebpfText);
const envFile = parseEnvFile(envText);
const PASSWORD = "s3cret";

/** Where the README installs each file; what the collector reads at those paths in these tests. */
const INSTALLED: Record<string, () => string> = {
  "/etc/pgquerylens/pgquerylens.env": () => envText,
  "/etc/pgquerylens/pgquerylens.toml": () => deployText("pgquerylens.toml"),
  "/etc/pgquerylens/password": () => `${PASSWORD}\n`,
};

/** Reads an installed file; any other path does not exist. */
function readInstalled(path: string): string {
  const file = INSTALLED[path];
  if (file === undefined) throw new Deno.errors.NotFound(`No such file or directory: ${path}`);
  return file();
}

/** The collector's configuration as the service starts it: ExecStart's argv in the unit's environment. */
function serviceConfig(u: Unit, envFiles: Map<string, string>[]) {
  const env = serviceEnvironment(u, envFiles);
  const argv = execStart(u, env);
  assert.equal(argv[0], BINARY);
  const loaded = loadConfig(argv.slice(1), { env: (n) => env.get(n), readTextFile: readInstalled });
  return { ...loaded, env };
}

/** `NAME=value` lines commented out in the environment file: examples an operator may enable. */
const commentedExamples = new Map(
  [...envText.matchAll(/^#\s*([A-Z_][A-Z0-9_]*)=(\S.*)$/gm)].map((m) => [m[1], m[2]] as const),
);

Deno.test("the service runs the collector as a daemon exporting OTLP", () => {
  assert.equal(value(unit, "Service", "EnvironmentFile"), "/etc/pgquerylens/pgquerylens.env");
  assert.ok(envText.includes("installed as /etc/pgquerylens/pgquerylens.env"));
  const { config, env } = serviceConfig(unit, [envFile]);
  assert.equal(config.mode, "otel");
  assert.equal(config.intervalSeconds, 15, "daemon mode: a cycle every 15 s until SIGTERM");
  assert.equal(config.tempDir, `/var/lib/${value(unit, "Service", "StateDirectory")}`);
  assert.equal(config.hostname, "localhost");
  assert.equal(config.username, "pgquerylens");
  assert.equal(config.password, PASSWORD, "read from the password file");
  assert.equal(config.enableQueryMonitoring, true);
  assert.equal(config.collectionList, '["postgres"]');
  assert.equal(config.ebpf.enabled, false);
  const otel = resolveOtelSettings(config.otel, (n) => env.get(n));
  assert.equal(otel.transports.metrics.endpoint, "http://localhost:4318/v1/metrics");
  assert.equal(otel.transports.logs.compression, "gzip");
  assert.equal(otel.serviceName, "pgquerylens");
});

Deno.test("the unit's own defaults keep it an OTLP daemon when the environment file omits them", () => {
  const credentials = new Map([["USERNAME", "monitor"], ["PASSWORD", PASSWORD]]);
  const { config } = serviceConfig(unit, [credentials]);
  assert.equal(config.mode, "otel");
  assert.equal(config.intervalSeconds, 15);
  assert.equal(config.tempDir, "/var/lib/pgquerylens");
});

Deno.test("one line of the environment file switches to hybrid; TEMP_DIR cannot move the state", () => {
  const edited = parseEnvFile(`${envText}\nPGQUERYLENS_MODE=hybrid\nTEMP_DIR=/tmp/elsewhere\n`);
  const { config } = serviceConfig(unit, [edited]);
  assert.equal(config.mode, "hybrid");
  assert.equal(config.intervalSeconds, 15);
  assert.equal(config.tempDir, "/var/lib/pgquerylens", "the state directory is the only writable one");
});

Deno.test("the commented examples and the TOML file are accepted; the environment outranks the file", () => {
  assert.equal(commentedExamples.get("PGQUERYLENS_CONFIG"), "/etc/pgquerylens/pgquerylens.toml");
  const withToml = parseEnvFile(`${envText}\nPGQUERYLENS_MODE=hybrid\n`);
  for (const [k, v] of commentedExamples) withToml.set(k, v);
  const { config, env } = serviceConfig(unit, [withToml]);
  assert.equal(config.mode, "hybrid");
  assert.equal(config.querylens.rules.length, 1);
  assert.equal(config.querylens.rules[0].name, "slow-updates");
  assert.equal(config.querylens.rules[0].bypassRateLimit, true);
  assert.equal(config.plans.topQueries, 20);
  assert.equal(config.explain.maxPerCycle, 50);
  const otel = resolveOtelSettings(config.otel, (n) => env.get(n));
  assert.equal(otel.transports.metrics.headers["api-key"], "...");
  assert.equal(otel.resourceAttributes["deployment.environment.name"], "production");
});

Deno.test("systemd reads the environment file as parsed here", async () => {
  assert.ok(envFile.size >= 10, `${envFile.size} variables`);
  assert.deepEqual(await envFileMismatches(envText, envFile), []);
});

Deno.test("every variable the unit, the drop-in and the environment file name is one the collector reads", () => {
  const names = new Set([
    ...environmentOf(unit).keys(),
    ...environmentOf(ebpfDropIn).keys(),
    ...envFile.keys(),
    ...commentedExamples.keys(),
    ...referencedVariables(value(unit, "Service", "ExecStart") ?? ""),
  ]);
  assert.ok(names.size >= 15, `${names.size} names`);
  for (const name of names) assert.ok(ENV_NAMES.includes(name), `${name} is not read by the collector`);
});

Deno.test("the files the service uses lie inside the collector's permission set", () => {
  const deno = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  const { read, write } = deno.permissions.collector as { read: string[]; write: string[] };
  const inside = (list: string[], path: string) =>
    list.some((dir) => path === dir || path.startsWith(`${dir}/`));
  const { config } = serviceConfig(unit, [envFile]);
  assert.ok(inside(write, config.tempDir), `${config.tempDir} is writable`);
  for (const name of ["PGQUERYLENS_PASSWORD_FILE", "PGQUERYLENS_CONFIG"]) {
    const path = envFile.get(name) ?? commentedExamples.get(name)!;
    assert.ok(inside(read, path), `${name}=${path} is readable`);
  }
});

/** Each hardening setting of the service, as it must be. */
const HARDENING: Record<string, string> = {
  Type: "exec",
  User: "pgquerylens",
  Group: "pgquerylens",
  SupplementaryGroups: "postgres",
  StateDirectory: "pgquerylens",
  StateDirectoryMode: "0700",
  UMask: "0077",
  Restart: "on-failure",
  RestartPreventExitStatus: "1",
  NoNewPrivileges: "yes",
  CapabilityBoundingSet: "",
  AmbientCapabilities: "",
  ProtectSystem: "strict",
  ProtectHome: "yes",
  PrivateTmp: "yes",
  PrivateDevices: "no",
  DevicePolicy: "closed",
  ProtectProc: "default",
  ProcSubset: "all",
  ProtectKernelTunables: "yes",
  ProtectKernelModules: "yes",
  ProtectKernelLogs: "yes",
  ProtectControlGroups: "yes",
  ProtectClock: "yes",
  ProtectHostname: "yes",
  PrivateIPC: "yes",
  PrivateMounts: "yes",
  RemoveIPC: "yes",
  RestrictNamespaces: "yes",
  RestrictRealtime: "yes",
  RestrictSUIDSGID: "yes",
  LockPersonality: "yes",
  MemoryDenyWriteExecute: "no",
  PrivateUsers: "no",
  KeyringMode: "private",
  RestrictAddressFamilies: "AF_UNIX AF_INET AF_INET6",
  SystemCallArchitectures: "native",
  SystemCallErrorNumber: "EPERM",
};

Deno.test("the service is hardened, with each exception explained", () => {
  for (const [key, want] of Object.entries(HARDENING)) {
    assert.equal(value(unit, "Service", key), want, `${key}=`);
  }
  assert.deepEqual(values(unit, "Service", "SystemCallFilter"), [
    "@system-service",
    "~@privileged @resources",
    "pkey_alloc pkey_free pkey_mprotect",
  ]);
  assert.ok(!isSet(unit, "Service", "DynamicUser"), "a static user owns the state and the password file");
  assert.ok(!isSet(unit, "Service", "NoExecPaths"), "native libraries are loaded from the state directory");
  assert.match(value(unit, "Service", "ExecStart")!, /^\//, "no privileged (+, !) ExecStart");
  const header = unitText.split("\n").filter((l) => l.startsWith("#")).join("\n");
  for (
    const exception of ["SupplementaryGroups=", "PrivateDevices=", "ProtectProc=", "ProcSubset=", "noexec"]
  ) {
    assert.ok(header.includes(exception), `the header explains ${exception}`);
  }
  for (const exception of ["MemoryDenyWriteExecute=", "PrivateUsers=", "AF_UNIX"]) {
    assert.ok(header.includes(exception), `the header explains ${exception}`);
  }
});

/**
 * System calls of the collector in daemon mode, measured with `strace -f` on `deno task start` in
 * hybrid mode with the pg_querylens ring read through FFI, OS metrics, active session history and
 * OTLP over HTTP (Deno 2.9; the calls of `deno run`'s module cache left out). pkey_alloc is V8's
 * probe for memory protection keys.
 */
const COLLECTOR_SYSCALLS = [
  "access",
  "arch_prctl",
  "brk",
  "clock_nanosleep",
  "clone3",
  "close",
  "connect",
  "epoll_create1",
  "epoll_ctl",
  "epoll_wait",
  "eventfd2",
  "execve",
  "exit_group",
  "fchmod",
  "fcntl",
  "flock",
  "fstat",
  "futex",
  "getcwd",
  "getdents64",
  "geteuid",
  "getpeername",
  "getpid",
  "getppid",
  "getrandom",
  "getsockname",
  "getsockopt",
  "gettid",
  "ioctl",
  "lseek",
  "lstat",
  "madvise",
  "mkdir",
  "mmap",
  "mprotect",
  "mremap",
  "munmap",
  "newfstatat",
  "openat",
  "pkey_alloc",
  "poll",
  "prctl",
  "pread64",
  "prlimit64",
  "read",
  "readlink",
  "recvfrom",
  "rename",
  "rseq",
  "rt_sigaction",
  "rt_sigprocmask",
  "rt_sigreturn",
  "sched_getaffinity",
  "sched_getparam",
  "sched_getscheduler",
  "sched_yield",
  "sendmmsg",
  "sendto",
  "set_robust_list",
  "set_tid_address",
  "setsockopt",
  "shutdown",
  "sigaltstack",
  "socket",
  "socketpair",
  "stat",
  "statx",
  "sysinfo",
  "uname",
  "unlink",
  "utimensat",
  "write",
]; // deno-fmt-ignore
/** What the eBPF tier adds (same measurement with `PGQUERYLENS_EBPF=true`). */
const EBPF_SYSCALLS = ["bpf", "perf_event_open"];

Deno.test("the system call filter allows what the collector calls; the eBPF drop-in adds the tier's", async () => {
  const groups = await syscallGroups();
  const allowed = allowedSyscalls(values(unit, "Service", "SystemCallFilter"), groups)!;
  const missing = COLLECTOR_SYSCALLS.filter((c) => !allowed.has(c));
  assert.deepEqual(missing, [], "calls the filter would refuse");
  for (const call of EBPF_SYSCALLS) assert.ok(!allowed.has(call), `${call} is refused by default`);
  for (const call of ["setrlimit", "setuid", "chown", "mount", "ptrace", "kexec_load"]) {
    assert.ok(!allowed.has(call), `${call} is refused`);
  }
  const withEbpf = withDropIns(unit, ebpfDropIn);
  const allowedEbpf = allowedSyscalls(values(withEbpf, "Service", "SystemCallFilter"), groups)!;
  for (const call of [...COLLECTOR_SYSCALLS, ...EBPF_SYSCALLS]) assert.ok(allowedEbpf.has(call), call);
});

Deno.test("the eBPF drop-in turns the tier on with CAP_SYS_ADMIN and CAP_SYS_PTRACE only", () => {
  const withEbpf = withDropIns(unit, ebpfDropIn);
  const caps = ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"];
  for (const key of ["CapabilityBoundingSet", "AmbientCapabilities"]) {
    assert.deepEqual(value(withEbpf, "Service", key)!.split(/\s+/).sort(), caps, key);
  }
  assert.equal(value(withEbpf, "Service", "NoNewPrivileges"), "yes", "ambient capabilities need no setuid");
  assert.equal(serviceConfig(withEbpf, [envFile]).config.ebpf.enabled, true);
  assert.equal(serviceConfig(unit, [envFile]).config.ebpf.enabled, false);
  assert.ok(ebpfText.includes("/etc/systemd/system/pgquerylens.service.d/ebpf.conf"));
});

Deno.test("systemd-analyze verifies the unit, alone and with the eBPF drop-in", async () => {
  const variants: Record<string, string>[] = [{}, { "ebpf.conf": ebpfText }];
  for (const dropIns of variants) {
    await using staged = await stageUnit(SERVICE, unitText, BINARY, dropIns);
    const run = await analyze(["verify", "--man=no", SERVICE], staged.dir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "", "no warning about the unit");
  }
});

/** Checks systemd-analyze counts against the unit, each for a reason the collector cannot avoid. */
const ACCEPTED_EXPOSURES: Record<string, string> = {
  "PrivateNetwork=": "connects to the server and the OTLP receiver",
  "RestrictAddressFamilies=~AF_(INET|INET6)": "TCP to the server and the OTLP receiver",
  "RestrictAddressFamilies=~AF_UNIX": "the runtime's socket pairs and name-service lookups",
  "IPAddressDeny=": "the receiver's address is the operator's",
  "SupplementaryGroups=": "the server's group reads the pg_querylens rings",
  "PrivateDevices=": "a private /dev has no /dev/shm, hence no rings",
  "DeviceAllow=": "ProtectClock='s read-only real-time clock entry",
  "ProtectProc=": "OS metrics read the server's processes in /proc",
  "ProcSubset=": "OS metrics read /proc/pressure and /proc/stat",
  "MemoryDenyWriteExecute=": "V8 compiles JavaScript to writable, executable memory",
  "PrivateUsers=": "the supplementary group and the eBPF capabilities need the host's user namespace",
  "RootDirectory=/RootImage=": "reads the host's /proc and /dev/shm",
};
/** What the eBPF drop-in adds, and why. */
const ACCEPTED_EBPF_EXPOSURES: Record<string, string> = {
  "AmbientCapabilities=": "CAP_SYS_ADMIN and CAP_SYS_PTRACE for the tier",
  "CapabilityBoundingSet=~CAP_SYS_ADMIN": "uprobes for the USDT probes; loads the BPF program",
  "CapabilityBoundingSet=~CAP_SYS_PTRACE": "opens the postmaster's /proc/<pid>/exe and maps",
  "SystemCallFilter=~@privileged": "bpf()",
  "SystemCallFilter=~@debug": "perf_event_open() for the probes",
};

Deno.test("systemd-analyze security rates the service OK, with only the accepted exposures", async () => {
  // Measured with systemd 252: 1.7 alone, 2.5 with the eBPF drop-in (0 is best, 10 worst; "OK" is
  // below 3). The bounds leave room for small changes in systemd's weights; a new exception fails
  // the check of the exposures first.
  const cases: { dropIns: Record<string, string>; bound: number; accepted: Record<string, string> }[] = [
    { dropIns: {}, bound: 2.0, accepted: ACCEPTED_EXPOSURES },
    {
      dropIns: { "ebpf.conf": ebpfText },
      bound: 2.8,
      accepted: { ...ACCEPTED_EXPOSURES, ...ACCEPTED_EBPF_EXPOSURES },
    },
  ];
  for (const { dropIns, bound, accepted } of cases) {
    await using staged = await stageUnit(SERVICE, unitText, BINARY, dropIns);
    const report = await security(staged);
    const label = Object.keys(dropIns).length === 0 ? SERVICE : `${SERVICE} + ebpf.conf`;
    console.log(`systemd-analyze security ${label}: ${report.score} ${report.verdict}`);
    const unexpected = report.exposures.filter((e) => !(e.name in accepted));
    assert.deepEqual(unexpected, [], "exposures without a reason");
    assert.ok(report.score <= bound, `${label}: exposure ${report.score} > ${bound}`);
    assert.equal(report.verdict, "OK");
  }
});
