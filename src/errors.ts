/**
 * Every problem homing reports through `on('error')`; nothing is thrown into the host page.
 * In production an error carries its code and figures; the debug build adds a sentence.
 */
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

/** The figures that make an error actionable without its sentence. */
export interface ErrorFigures {
  /** The option that was refused (invalid_option). */
  option?: string;
  /** How many events the error concerns. */
  count?: number;
  /** The collector's HTTP status (rejected, gave_up). */
  status?: number;
  /** A keyword: why (e.g. 'truncated', 'circular', 'quota', 'timeout'). */
  reason?: string;
  /** Where in the event (invalid_property), e.g. 'properties.text'. */
  path?: string;
  cause?: unknown;
}

export interface HomingError extends Error, ErrorFigures {
  code: ErrorCode;
}

export function homingError(code: ErrorCode, figures: ErrorFigures, sentence?: string | false): HomingError {
  const error = new Error(sentence || code, { cause: figures.cause });
  return Object.assign(error, { name: 'HomingError', code }, figures);
}

/** A thrown value's message, whatever was thrown. */
export function errorMessage(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'unknown error';
  }
}

/** A value as a sentence shows it: strings quoted, objects by their kind only. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  return value && typeof value === 'object' ? (Array.isArray(value) ? 'an array' : 'an object') : String(value);
}
