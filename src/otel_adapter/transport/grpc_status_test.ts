import assert from "node:assert/strict";
import { RETRY_INFO_TYPE_URL, retryDelayFromStatus } from "./grpc_status.ts";

/** Protobuf encoding helpers (length-delimited and varint fields only). */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const ld = (
  field: number,
  bytes: Uint8Array | number[],
) => [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
const vi = (field: number, n: number) => [...varint(field << 3), ...varint(n)];
const text = (s: string) => [...new TextEncoder().encode(s)];

function status(details: number[][]): Uint8Array {
  return new Uint8Array([...vi(1, 8), ...ld(2, text("slow down")), ...details.flatMap((d) => ld(3, d))]);
}
const any = (typeUrl: string, value: number[]) => [...ld(1, text(typeUrl)), ...ld(2, value)];

Deno.test("RetryInfo delay is read from a Status, after other details", () => {
  const retryInfo = ld(1, [...vi(1, 2), ...vi(2, 250_000_000)]); // 2.25 s
  const s = status([
    any("type.googleapis.com/google.rpc.ErrorInfo", ld(1, text("x"))),
    any(RETRY_INFO_TYPE_URL, retryInfo),
  ]);
  assert.deepStrictEqual(retryDelayFromStatus(s), 2250);
});

Deno.test("a Status without RetryInfo, or malformed bytes, gives no delay", () => {
  assert.deepStrictEqual(
    retryDelayFromStatus(status([any("type.googleapis.com/google.rpc.ErrorInfo", [])])),
    undefined,
  );
  assert.deepStrictEqual(retryDelayFromStatus(new Uint8Array()), undefined);
  assert.deepStrictEqual(retryDelayFromStatus(new Uint8Array([0x1a, 0x10, 0x01])), undefined);
  assert.deepStrictEqual(retryDelayFromStatus(new Uint8Array([0x0b])), undefined);
});

Deno.test("an empty RetryInfo means retry now", () => {
  assert.deepStrictEqual(retryDelayFromStatus(status([any(RETRY_INFO_TYPE_URL, [])])), 0);
});
