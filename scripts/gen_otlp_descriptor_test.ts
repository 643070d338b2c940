import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import {
  buildDescriptor,
  DESCRIPTOR_PATH,
  OTLP_PROTO_FILES,
  PROTO_DIR,
  renderDescriptor,
} from "./gen_otlp_descriptor.ts";

Deno.test("the committed OTLP descriptor is what the vendored .proto files generate", async () => {
  const committed = await Deno.readTextFile(DESCRIPTOR_PATH);
  strictEqual(renderDescriptor(await buildDescriptor()), committed);
});

Deno.test("the descriptor holds the metrics and logs export services with their messages", async () => {
  // deno-lint-ignore no-explicit-any
  const json: any = await buildDescriptor();
  const collector = json.nested.opentelemetry.nested.proto.nested.collector.nested;
  deepStrictEqual(Object.keys(collector.metrics.nested.v1.nested).sort(), [
    "ExportMetricsPartialSuccess",
    "ExportMetricsServiceRequest",
    "ExportMetricsServiceResponse",
    "MetricsService",
  ]);
  const logRecord = json.nested.opentelemetry.nested.proto.nested.logs.nested.v1.nested.LogRecord;
  deepStrictEqual(logRecord.fields.eventName, { type: "string", id: 12 });
  deepStrictEqual(logRecord.fields.timeUnixNano, { type: "fixed64", id: 1 });
});

Deno.test("a vendored file importing a definition outside the set is rejected by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const file of OTLP_PROTO_FILES) {
      const target = `${dir}/${file}`;
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
      let source = await Deno.readTextFile(`${PROTO_DIR}${file}`);
      if (file.endsWith("logs.proto")) {
        source = source.replace(/^import /m, 'import "google/protobuf/any.proto";\nimport ');
      }
      await Deno.writeTextFile(target, source);
    }
    await rejects(
      buildDescriptor(dir),
      /opentelemetry\/proto\/logs\/v1\/logs\.proto imports google\/protobuf\/any\.proto, which is not among the vendored OTLP files/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
