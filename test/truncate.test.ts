import { expect, it } from 'vitest';
import { capture } from '../src/capture/capture';
import { createEnricher } from '../src/capture/enrich';

it('cuts a long non-ASCII string to fit rather than dropping the event as tooLarge', () => {
  const enrich = createEnricher({
    environment: () => ({ library: { name: 'homing', version: '1.2.3' } }),
    plugins: [],
    random: () => new Uint8Array(16),
    maxEventBytes: 2_000,
    onRepair: () => {},
    onPluginError: () => {},
  });
  // 6,000 bytes in 3,000 UTF-16 units: the excess in bytes is more than the string's length.
  const captured = capture('track', 'Signed Up', { note: 'é'.repeat(3_000) }, 0, undefined);

  expect(enrich(captured, { anonymousId: 'a', sessionId: 's' }).kind).toBe('ready');
});
