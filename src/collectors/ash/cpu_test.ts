import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { createCpuMeter, type MeasuredBackend } from "./cpu.ts";
import { checkLocality } from "./locality.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("createCpuMeter: CPU seconds of real backends between two measurements", async () => {
  await using cluster = await startCluster({ name: "ashcpu" });
  const admin = cluster.sql();
  const busy = cluster.sql();
  const idle = cluster.sql();
  const backend = async (sql: typeof admin): Promise<MeasuredBackend> => {
    const [r] =
      await sql`SELECT pg_backend_pid() AS pid, (SELECT (extract(epoch FROM backend_start) * 1000)::float8
      FROM pg_stat_activity WHERE pid = pg_backend_pid()) AS start_ms`;
    return { pid: r.pid, backendStartMs: r.start_ms };
  };
  const [a, b, i] = [await backend(admin), await backend(busy), await backend(idle)];
  const [pm] = await admin`SELECT (extract(epoch FROM pg_postmaster_start_time()) * 1000)::float8 AS ms`;
  const locality = checkLocality({
    backendPid: a.pid,
    backendStartMs: a.backendStartMs!,
    postmasterStartMs: pm.ms,
  });
  assert.ok(locality.local, JSON.stringify(locality));
  const meter = createCpuMeter(locality.server);

  const first = meter.measure([b, i]);
  assert.deepEqual(first, { cpuSeconds: new Map(), unverified: 0 }, "nothing to compare with yet");
  await busy.unsafe(`DO $$ DECLARE n bigint := 0; t timestamptz := clock_timestamp() + interval '1200 ms';
    BEGIN LOOP n := n + 1; EXIT WHEN n % 10000 = 0 AND clock_timestamp() > t; END LOOP; END $$`);
  await sleep(50);
  const second = meter.measure([b, i, { pid: Deno.pid, backendStartMs: Date.now() - performance.now() }]);
  assert.equal(second.unverified, 1, "this process is not a backend of the server");
  const busyCpu = second.cpuSeconds.get(b.pid)!;
  assert.ok(busyCpu >= 0.8 && busyCpu <= 2, `busy backend used ${busyCpu} s for a 1.2 s loop`);
  assert.ok(second.cpuSeconds.get(i.pid)! <= 0.05, `idle backend used ${second.cpuSeconds.get(i.pid)} s`);

  const third = meter.measure([i]);
  assert.deepEqual([...third.cpuSeconds.keys()], [i.pid]);
  const fourth = meter.measure([b, i]);
  assert.ok(!fourth.cpuSeconds.has(b.pid), "a backend missing from the previous measurement has no delta");
});
