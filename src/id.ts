/** Random source: returns 16 random bytes. Injectable so tests are reproducible. */
export type RandomBytes = () => Uint8Array;

export const cryptoRandomBytes: RandomBytes = () => {
  const bytes = new Uint8Array(16);
  const crypto = globalThis.crypto;
  if (crypto?.getRandomValues) return crypto.getRandomValues(bytes);
  for (let i = 0; i < 16; i++) bytes[i] = (Math.random() * 256) | 0;
  return bytes;
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
