/**
 * Reads `google.rpc.RetryInfo.retry_delay` out of a gRPC `grpc-status-details-bin` trailer (an
 * encoded `google.rpc.Status` whose `details` are `google.protobuf.Any` messages).
 *
 * @module
 */

/** The `type_url` of a `google.rpc.RetryInfo` detail. */
export const RETRY_INFO_TYPE_URL = "type.googleapis.com/google.rpc.RetryInfo";

interface Field {
  readonly number: number;
  readonly varint?: bigint;
  readonly bytes?: Uint8Array;
}

/** Splits a protobuf message into its fields (varint and length-delimited; fixed widths skipped). */
function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n;; shift += 7n) {
      if (at >= buf.length || shift > 63n) throw new Error("truncated or overlong varint");
      const byte = buf[at++];
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  while (at < buf.length) {
    const key = varint();
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) out.push({ number, varint: varint() });
    else if (wire === 2) {
      const length = Number(varint());
      if (at + length > buf.length) throw new Error("truncated length-delimited field");
      out.push({ number, bytes: buf.subarray(at, at + length) });
      at += length;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  if (at > buf.length) throw new Error("truncated fixed-width field");
  return out;
}

/**
 * The retry delay carried by an encoded `google.rpc.Status`, in milliseconds.
 *
 * @param status the bytes of the `grpc-status-details-bin` trailer
 * @returns the delay, or undefined when there is no `RetryInfo` or the bytes are malformed
 */
export function retryDelayFromStatus(status: Uint8Array): number | undefined {
  try {
    for (const detail of fields(status)) {
      if (detail.number !== 3 || detail.bytes === undefined) continue;
      const any = fields(detail.bytes);
      const typeUrl = any.find((f) => f.number === 1)?.bytes;
      if (typeUrl === undefined || new TextDecoder().decode(typeUrl) !== RETRY_INFO_TYPE_URL) continue;
      const info = fields(any.find((f) => f.number === 2)?.bytes ?? new Uint8Array());
      const duration = fields(info.find((f) => f.number === 1)?.bytes ?? new Uint8Array());
      const seconds = BigInt.asIntN(64, duration.find((f) => f.number === 1)?.varint ?? 0n);
      const nanos = BigInt.asIntN(32, duration.find((f) => f.number === 2)?.varint ?? 0n);
      return Math.max(0, Number(seconds) * 1000 + Math.floor(Number(nanos) / 1e6));
    }
  } catch {
    return undefined;
  }
  return undefined;
}
