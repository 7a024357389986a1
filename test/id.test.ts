import { describe, expect, it } from 'vitest';
import { cryptoRandomBytes, uuidV4 } from '../src/capture/id';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidV4', () => {
  it('makes version 4 UUIDs, all distinct, also across refills of the random pool', () => {
    const ids = Array.from({ length: 1_000 }, () => uuidV4());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('hands out 16 fresh bytes per call', () => {
    const first = cryptoRandomBytes();
    const copy = Array.from(first);
    const second = cryptoRandomBytes();
    expect(first).toHaveLength(16);
    expect(Array.from(first)).toEqual(copy);
    expect(Array.from(second)).not.toEqual(copy);
  });

  it('uses the random source it is given', () => {
    expect(uuidV4(() => new Uint8Array(16))).toBe('00000000-0000-4000-8000-000000000000');
  });
});
