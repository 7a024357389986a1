/** Random source: returns 16 random bytes. Injectable so tests are reproducible. */
export type RandomBytes = () => Uint8Array;

/** One getRandomValues call costs more than the rest of a uuid; one call fills 256 of them. */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let offset = 0;

export const cryptoRandomBytes: RandomBytes = () => {
  if (offset + 16 > pool.length) {
    pool = new Uint8Array(POOL_BYTES);
    offset = 0;
    const crypto = globalThis.crypto;
    if (crypto?.getRandomValues) crypto.getRandomValues(pool);
    else for (let i = 0; i < POOL_BYTES; i++) pool[i] = (Math.random() * 256) | 0;
  }
  return pool.subarray(offset, (offset += 16));
};

const HEX = Array.from({ length: 256 }, (_, i) => (i + 256).toString(16).slice(1));

/** A RFC 4122 version 4 UUID. `crypto.randomUUID` exists only in secure contexts, so build it. */
export function uuidV4(random: RandomBytes = cryptoRandomBytes): string {
  const b = random();
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += HEX[b[i]!];
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}
