/**
 * Chooses the OTLP transport named by the settings' protocol.
 *
 * @module
 */

import type { OtlpSettings } from "./endpoint.ts";
import { createGrpcSender, type GrpcSenderOptions } from "./grpc.ts";
import { createHttpSender, type HttpSenderOptions } from "./http.ts";
import type { OtlpSender } from "./retry.ts";

/**
 * Creates the sender for `settings.protocol`: OTLP/gRPC or OTLP/HTTP with binary protobuf.
 *
 * @param settings resolved settings of one signal
 * @param options size limits (and, for HTTP, the clock used for `Retry-After` dates)
 * @throws Error when the certificate file cannot be read
 */
export function createOtlpSender(
  settings: OtlpSettings,
  options: HttpSenderOptions & GrpcSenderOptions = {},
): Promise<OtlpSender> {
  return settings.protocol === "grpc"
    ? createGrpcSender(settings, options)
    : createHttpSender(settings, options);
}
