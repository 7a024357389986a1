/** Every problem homing reports through `on('error')` and debug logging; nothing is thrown. */
export type ErrorCode =
  | 'invalid_option'
  | 'invalid_event'
  | 'invalid_property'
  | 'event_too_large'
  | 'queue_overflow'
  | 'rejected'
  | 'gave_up'
  | 'store_fallback'
  | 'store_error'
  | 'store_corrupt'
  | 'shut_down'
  | 'plugin_error'
  | 'internal';

export interface HomingError extends Error {
  code: ErrorCode;
}

export function homingError(code: ErrorCode, message: string, cause?: unknown): HomingError {
  const error = new Error(message, cause === undefined ? undefined : { cause }) as HomingError;
  error.name = 'HomingError';
  error.code = code;
  return error;
}
