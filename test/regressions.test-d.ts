/**
 * Issue 14, the type-level items: what the public types must accept so the runtime behaviour
 * tested in regressions.test.ts can be written without a cast.
 */
import { describe, expectTypeOf, it } from 'vitest';
import { createTracker, type HomingError, type SendResult, type TrackerStats, type Transport } from '../src/index';

describe('issue 14, item 9: the Transport seam and the new figures', () => {
  it('accepts a custom Transport without a name', () => {
    const transport = { send: async (): Promise<SendResult> => ({ kind: 'delivered', status: 200 }) };
    expectTypeOf(transport).toExtend<Transport>();
    createTracker({ endpoint: '/collect', transport });
  });

  it('gives stats().handedOff as a number', () => {
    expectTypeOf<TrackerStats['handedOff']>().toEqualTypeOf<number>();
  });

  it("carries an error's figures as fields: the option named, the property's path", () => {
    expectTypeOf<HomingError>().toHaveProperty('option');
    expectTypeOf<HomingError>().toHaveProperty('path');
  });
});
