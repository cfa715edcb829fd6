/** CRC32C (Castagnoli), the checksum Cloud KMS and Secret Manager carry as `*Crc32c` int64 strings (both the local edge and our adapters check it). */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** As the proto3 JSON of an int64 / google.protobuf.Int64Value wrapper: a decimal string. */
export function crc32cValue(data: Uint8Array): string {
  return String(crc32c(data));
}

/** Reads an Int64Value (`{value}` or a bare number / string); undefined when absent. */
export function int64Of(v: unknown): number | undefined {
  const raw = typeof v === 'object' && v !== null ? (v as { value?: unknown }).value : v;
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : Number.NaN;
}
