import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Length } from '../src/bytes';

describe('utf8Length', () => {
  it('equals the length of the UTF-8 encoding for any string, ASCII or not', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
      }),
      { numRuns: 500 },
    );
  });

  it('counts 1, 2, 3 and 4 bytes per character as UTF-8 does', () => {
    expect(utf8Length('a')).toBe(1);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
  });
});
