import assert from "node:assert/strict";
import schema from "../../tests/schemas/kernel-metrics.schema.json" with { type: "json" };
import { EXTENDED_EVENT_TYPES, QPM_EVENT_TYPES } from "./catalog.ts";
import {
  KERNEL_BACKEND_SCOPE,
  KERNEL_HOST_SCOPE,
  KERNEL_METRICS_EVENT_TYPE,
  KERNEL_QUERY_SCOPE,
  type KernelScopeSpec,
} from "./kernel_catalog.ts";

// deno-lint-ignore no-explicit-any
const SCOPES: KernelScopeSpec<any>[] = [KERNEL_HOST_SCOPE, KERNEL_QUERY_SCOPE, KERNEL_BACKEND_SCOPE];
const SET_SCHEMAS: Record<string, { required: string[]; properties: Record<string, unknown> }> = {
  host: schema.definitions.hostSet,
  query: schema.definitions.querySet,
  backend: schema.definitions.backendSet,
};

Deno.test("kernel catalog: one event type of its own, three scopes, scope first", () => {
  assert.equal(KERNEL_METRICS_EVENT_TYPE, "PostgresKernelMetrics");
  const others = new Set([...QPM_EVENT_TYPES, ...EXTENDED_EVENT_TYPES].map((t) => t.eventType));
  assert.ok(!others.has(KERNEL_METRICS_EVENT_TYPE));
  assert.deepEqual(SCOPES.map((s) => s.scope), ["host", "query", "backend"]);
  for (const s of SCOPES) {
    assert.equal(s.fields[0].nri, "scope");
    assert.equal(s.fields[0].value(undefined), s.scope);
  }
});

Deno.test("kernel catalog: names are snake_case and unique within a scope", () => {
  for (const s of SCOPES) {
    const names = s.fields.map((f) => f.nri);
    assert.equal(new Set(names).size, names.length, s.scope);
    for (const n of names) assert.match(n, /^[a-z][a-z0-9_]*$/, n);
  }
});

Deno.test("kernel catalog: each scope's keys and required keys are its schema's", () => {
  for (const s of SCOPES) {
    const set = SET_SCHEMAS[s.scope];
    const declared = s.fields.map((f) => f.nri).sort();
    const inSchema = Object.keys(set.properties).filter((k) =>
      !["event_type", "cluster_name", "service_name"].includes(k)
    ).sort();
    assert.deepEqual(declared, inSchema, s.scope);
    const required = s.fields.filter((f) => f.required).map((f) => f.nri).sort();
    assert.deepEqual(required, set.required.filter((k) => k !== "event_type").sort(), s.scope);
  }
});

Deno.test("kernel catalog: the host scope has four values for each pressure line", () => {
  const psi = KERNEL_HOST_SCOPE.fields.filter((f) => /^(cpu|io|memory)_(some|full)_/.test(f.nri));
  assert.equal(psi.length, 24);
  const cpuSome = psi.filter((f) => f.nri.startsWith("cpu_some_")).map((f) => [f.nri, f.unit]);
  assert.deepEqual(cpuSome, [
    ["cpu_some_avg10", "%"],
    ["cpu_some_avg60", "%"],
    ["cpu_some_avg300", "%"],
    ["cpu_some_stall_ms", "ms"],
  ]);
  const m = {
    tier: "procfs" as const,
    intervalStartUnixMs: 1000,
    intervalEndUnixMs: 1200,
    continuous: true,
    perBackend: [],
    perQuery: [],
    delayAccounting: true,
    ioReadable: false,
    pressure: { io: { some: { avg10Pct: 1.5, avg60Pct: 2, avg300Pct: 3, stallMs: 4, totalUs: 5 } } },
  };
  const values = Object.fromEntries(KERNEL_HOST_SCOPE.fields.map((f) => [f.nri, f.value(m)]));
  assert.equal(values.interval_ms, 200);
  assert.equal(values.delay_accounting, 1);
  assert.equal(values.io_readable, 0);
  assert.equal(values.io_some_avg10, 1.5);
  assert.equal(values.io_some_stall_ms, 4);
  assert.equal(values.io_full_avg10, undefined);
  assert.equal(values.cpu_some_avg10, undefined);
});
