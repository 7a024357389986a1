/** A tracker that only records what the extras ask of it, with the page as it was at that moment. */
export interface RecordedCall {
  method: 'track' | 'page';
  /** The event name for track(), the page name (usually undefined) for page(). */
  name: string | undefined;
  properties: Record<string, unknown> | undefined;
  path: string;
  title: string;
}

export function createRecordingTracker() {
  const calls: RecordedCall[] = [];
  const recordCall = (method: RecordedCall['method'], name: string | undefined, properties?: Record<string, unknown>) =>
    calls.push({ method, name, properties, path: location.pathname + location.hash, title: document.title });
  return {
    calls,
    track: (event: string, properties?: Record<string, unknown>) => void recordCall('track', event, properties),
    page: (name?: string, properties?: Record<string, unknown>) => void recordCall('page', name, properties),
  };
}
