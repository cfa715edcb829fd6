/** CRC32C moved to the core (the product's Google adapters check it too); the edge keeps its import path. */
export { crc32c, crc32cValue, int64Of } from '#core/crypto/crc32c.ts';
