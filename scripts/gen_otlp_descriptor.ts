/**
 * Regenerates `src/otel_adapter/proto/otlp.json`, the protobufjs JSON descriptor of the vendored
 * OTLP protocol definitions (metrics and logs, with their collector services), so that the
 * collector needs no `.proto` file at run time.
 *
 *     deno run --allow-read --allow-write scripts/gen_otlp_descriptor.ts          # writes the file
 *     deno run --allow-read scripts/gen_otlp_descriptor.ts --check                # exit 1 when stale
 *
 * @module
 */

import protobuf from "protobufjs";

/** The vendored `.proto` files, relative to the proto directory, dependencies first. */
export const OTLP_PROTO_FILES: readonly string[] = [
  "opentelemetry/proto/common/v1/common.proto",
  "opentelemetry/proto/resource/v1/resource.proto",
  "opentelemetry/proto/metrics/v1/metrics.proto",
  "opentelemetry/proto/logs/v1/logs.proto",
  "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
  "opentelemetry/proto/collector/logs/v1/logs_service.proto",
];

/** The directory holding the vendored definitions and the generated descriptor. */
export const PROTO_DIR: string = new URL("../src/otel_adapter/proto/", import.meta.url).pathname;

/** Where the generated descriptor is written. */
export const DESCRIPTOR_PATH: string = `${PROTO_DIR}otlp.json`;

/**
 * Parses the OTLP `.proto` files under `protoDir` into one protobufjs root and returns its JSON
 * descriptor (field names in lowerCamelCase, comments dropped). Every import of a file must be one
 * of {@link OTLP_PROTO_FILES}; an unresolved type is an error naming it.
 */
export async function buildDescriptor(protoDir: string = PROTO_DIR): Promise<protobuf.INamespace> {
  const root = new protobuf.Root();
  for (const file of OTLP_PROTO_FILES) {
    const source = await Deno.readTextFile(`${protoDir.replace(/\/?$/, "/")}${file}`);
    const parsed = protobuf.parse(source, root, { keepCase: false });
    for (const imported of parsed.imports ?? []) {
      if (!OTLP_PROTO_FILES.includes(imported)) {
        throw new Error(`${file} imports ${imported}, which is not among the vendored OTLP files`);
      }
    }
  }
  root.resolveAll();
  return root.toJSON({ keepComments: false });
}

/** Renders a descriptor as the exact text committed to {@link DESCRIPTOR_PATH}. */
export function renderDescriptor(descriptor: protobuf.INamespace): string {
  return `${JSON.stringify(descriptor, null, 2)}\n`;
}

async function main(args: string[]): Promise<number> {
  const text = renderDescriptor(await buildDescriptor());
  if (args.includes("--check")) {
    const current = await Deno.readTextFile(DESCRIPTOR_PATH).catch(() => "");
    if (current === text) return 0;
    console.error(`${DESCRIPTOR_PATH} is stale: run scripts/gen_otlp_descriptor.ts`);
    return 1;
  }
  await Deno.writeTextFile(DESCRIPTOR_PATH, text);
  console.error(`wrote ${DESCRIPTOR_PATH}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
