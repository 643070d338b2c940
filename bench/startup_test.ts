import assert from "node:assert/strict";
import { loadBenchmarks } from "./lib/discover.ts";
import { formatReport } from "./lib/report.ts";
import { NO_DENORT_REASON } from "./lib/compiled_binary.ts";
import {
  benchmark,
  checkStartupOptions,
  DEFAULT_OPTIONS,
  MEASURES,
  measureStartup,
  QPM_EVENT_TYPES,
  type StartupOptions,
  startupReport,
} from "./startup.ts";

Deno.test("startup options: every count must be a positive integer, denortBin a path or nothing", () => {
  const ok: StartupOptions = { ...DEFAULT_OPTIONS };
  checkStartupOptions(ok);
  checkStartupOptions({ ...ok, denortBin: "/opt/denort" });
  assert.ok(DEFAULT_OPTIONS.rounds >= 5, "the benchmark runs at least 5 rounds by default");
  for (const key of ["rounds", "slowStatementRuns", "timeoutMs"] as const) {
    for (const bad of [0, -1, 2.5, NaN]) {
      assert.throws(
        () => checkStartupOptions({ ...ok, [key]: bad }),
        new RegExp(`^Error: startup: option ${key} must be a positive integer, got ${bad}$`),
      );
    }
  }
  assert.throws(
    () => checkStartupOptions({ ...ok, denortBin: 42 as unknown as string }),
    /option denortBin must be a path or undefined, got 42/,
  );
});

Deno.test("measureStartup refuses bad options before starting anything", async () => {
  await assert.rejects(
    measureStartup({ ...DEFAULT_OPTIONS, rounds: 0 }),
    /option rounds must be a positive integer/,
  );
});

Deno.test("bench/run.ts finds the benchmark as startup", async () => {
  const [found] = await loadBenchmarks(import.meta.dirname!, ["startup"]);
  assert.equal(found, benchmark);
  assert.ok(benchmark.description.length > 0);
});

Deno.test("a two-round run measures every configuration against the floor", async () => {
  const result = await measureStartup({ rounds: 2, slowStatementRuns: 2, timeoutMs: 60_000 });
  assert.deepEqual(result.configs.map((c) => c.id), ["floor", "base", "full", "base_cold"]);
  for (const c of result.configs) {
    assert.equal(c.samples.length, 2, c.id);
    for (const s of c.samples) {
      assert.ok(s.peakRssMiB > 0, `${c.id}: peak RSS ${s.peakRssMiB}`);
      assert.ok(s.cpuMs > 0, `${c.id}: CPU ${s.cpuMs}`);
      assert.ok(s.firstDocumentMs > 0 && s.firstDocumentMs <= s.wallMs, `${c.id}: ${JSON.stringify(s)}`);
    }
  }
  for (const id of ["base", "full", "base_cold"] as const) {
    const ratios = result.ratiosToFloor[id]!;
    for (const m of MEASURES) {
      assert.ok(Number.isFinite(ratios[m]) && ratios[m]! > 0, `${id} ${m}: ${ratios[m]}`);
    }
    // The collector does more than print a line: it is never cheaper than the runtime's floor.
    assert.ok(ratios.firstDocumentMs! > 1 && ratios.peakRssMiB! > 1, `${id}: ${JSON.stringify(ratios)}`);
  }
  for (const t of QPM_EVENT_TYPES) assert.ok(result.fullEventTypes.includes(t), `full run lacks ${t}`);
  assert.ok(result.fullEventTypes.includes("PostgresqlInstanceSample"));
  assert.deepEqual(result.compiled, { reason: NO_DENORT_REASON });

  const text = formatReport(startupReport(result));
  assert.match(text, /The compiled binary was not measured: DENORT_BIN is not set/);
  assert.match(
    text,
    /^full one-shot NRI \(QPM on\): time to first document +\| +\d+ ms \| +[\d.]+ ms \| +[\d.]+x \| floor$/m,
  );
  assert.match(text, /^base one-shot NRI, cold state dir: peak RSS +\| .* \| base, warm state dir$/m);
  assert.doesNotMatch(text, /compiled binary, full one-shot NRI:/);
  assert.match(text, /Median over 2 interleaved rounds/);
});
