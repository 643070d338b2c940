/**
 * The NRI adapter: turns a snapshot into New Relic infrastructure integration documents
 * (protocol v3, byte-compatible with nri-postgresql; or protocol v4). It never queries anything.
 *
 * @module
 */

export {
  compareGoKeys,
  goFormatNumber,
  GoJsonError,
  goJsonStringify,
  type GoJsonValue,
  goQuote,
} from "./go_json.ts";
export {
  buildMetricSet,
  type BuiltMetricSet,
  catalogMetricSet,
  type DroppedValue,
  gaugeValue,
  type MetricSet,
  type SampleField,
  type SdkAttributeOptions,
  sdkAttributes,
} from "./metric_set.ts";
export {
  batches,
  type DataItem,
  encodeSamples,
  encodeV3Document,
  entityJson,
  type EnvelopeOptions,
  eventJson,
  type IdAttribute,
  INTEGRATION_NAME,
  type Inventory,
  type NriEntity,
  type NriEvent,
  pgInstanceEntity,
  PUBLISH_THRESHOLD,
} from "./v3.ts";
export {
  encodeV4Document,
  encodeV4Samples,
  metricSetEvent,
  type V4DataItem,
  v4EntityJson,
  type V4Event,
  type V4Metric,
  type V4Options,
} from "./v4.ts";
export {
  encodeQpmDocuments,
  type NriEncoding,
  type NriOptions,
  qpmMetricSets,
  type QpmTypeSets,
} from "./qpm.ts";
export { describeDropped, nriOptionsFromConfig, writeNri, writeStdout } from "./output.ts";
