import assert from "node:assert/strict";
import { startCluster } from "../../../tests/support/cluster.ts";
import { clusterConnections } from "../../../tests/support/qpm.ts";
import { matrixServers } from "../../../tests/support/servers.ts";
import type { BaseSample } from "../../core/model.ts";
import { probeCapabilities } from "../../query_engine/capabilities.ts";
import { collectInstanceSample } from "./instance.ts";
import { waitUntil } from "../../../tests/support/workload.ts";

/** Metrics every version has, in emission order. */
const EVERY_VERSION = [
  "bgwriter.buffersWrittenByBackgroundWriterPerSecond",
  "bgwriter.backgroundWriterStopsPerSecond",
  "bgwriter.buffersAllocatedPerSecond",
];

/** Metric names expected on a server of `major`, in emission order. */
function expectedNames(major: number): string[] {
  if (major >= 17) {
    return [
      ...EVERY_VERSION,
      "checkpointer.checkpointsScheduledPerSecond",
      "checkpointer.checkpointsRequestedPerSecond",
      "checkpointer.buffersWrittenForCheckpointsPerSecond",
      "checkpointer.checkpointWriteTimeInMillisecondsPerSecond",
      "checkpointer.checkpointSyncTimeInMillisecondsPerSecond",
      "io.buffersWrittenByBackendPerSecond",
      "io.backendFsyncCallsPerSecond",
    ];
  }
  return [
    "bgwriter.checkpointsScheduledPerSecond",
    "bgwriter.checkpointsRequestedPerSecond",
    "bgwriter.buffersWrittenForCheckpointsPerSecond",
    ...EVERY_VERSION.slice(0, 2),
    "bgwriter.buffersWrittenByBackendPerSecond",
    EVERY_VERSION[2],
    "bgwriter.backendFsyncCallsPerSecond",
    "bgwriter.checkpointWriteTimeInMillisecondsPerSecond",
    "bgwriter.checkpointSyncTimeInMillisecondsPerSecond",
  ];
}

function value(sample: BaseSample, name: string): number {
  const m = sample.metrics.find((x) => x.name === name);
  assert.ok(m, `${name} missing`);
  assert.equal(typeof m.value, "number", name);
  return m.value as number;
}

Deno.test("collectInstanceSample on the version matrix", async (t) => {
  for (const server of matrixServers()) {
    await t.step(server.id, async () => {
      await using cluster = await startCluster({ name: `base-instance-${server.id}`, server });
      const cm = clusterConnections(cluster);
      try {
        const sql = cm.sql("postgres");
        const caps = await probeCapabilities(sql);
        assert.equal(caps.version.major, server.major);
        const before = await collectInstanceSample(sql, caps, "db1.example", cluster.port);

        assert.deepEqual(before.entity, {
          name: `db1.example:${cluster.port}`,
          type: "pg-instance",
          idAttributes: [],
        });
        assert.equal(before.eventType, "PostgresqlInstanceSample");
        assert.deepEqual(before.metrics.slice(0, 2), [
          { name: "displayName", sourceType: "attribute", value: `db1.example:${cluster.port}` },
          { name: "entityName", sourceType: "attribute", value: `pg-instance:db1.example:${cluster.port}` },
        ]);
        const metrics = before.metrics.slice(2);
        assert.deepEqual(metrics.map((m) => m.name), expectedNames(server.major));
        for (const m of metrics) {
          assert.equal(m.sourceType, "rate", m.name);
          assert.ok(Number.isInteger(m.value) && (m.value as number) >= 0, `${m.name} = ${m.value}`);
        }

        // Dirty some pages, then force a checkpoint: one more requested checkpoint, buffers written.
        const admin = cluster.sql();
        await admin.unsafe(
          "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 5000) g",
        );
        await admin.unsafe("CHECKPOINT");
        const prefix = server.major >= 17 ? "checkpointer" : "bgwriter";
        const requested = `${prefix}.checkpointsRequestedPerSecond`;
        const written = `${prefix}.buffersWrittenForCheckpointsPerSecond`;
        let after = before;
        await waitUntil(`${requested} and ${written} grow`, async () => {
          after = await collectInstanceSample(sql, caps, "db1.example", cluster.port);
          return value(after, requested) >= value(before, requested) + 1 &&
            value(after, written) >= value(before, written) + 1;
        });
        if (server.major >= 17) {
          // Checkpoint writes are counted in pg_stat_io too.
          const io = "io.buffersWrittenByBackendPerSecond";
          await waitUntil(`${io} grows`, async () => {
            after = await collectInstanceSample(sql, caps, "db1.example", cluster.port);
            return value(after, io) >= value(before, io) + 1;
          });
        }
        for (
          const name of ["bgwriter.buffersAllocatedPerSecond", `${prefix}.checkpointsScheduledPerSecond`]
        ) {
          assert.ok(value(after, name) >= value(before, name), `${name} never decreases`);
        }
      } finally {
        await cm.close();
      }
    });
  }
});
