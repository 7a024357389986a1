/**
 * Turning whatever a host page passes as properties into JSON that round-trips unchanged.
 * Nothing here throws: every value that cannot be represented is repaired, and each repair is
 * described so the tracker can report it.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Nesting deeper than this is cut: no real property bag needs it and deep recursion can overflow. */
export const MAX_DEPTH = 32;
/** Reporting every repair of a huge object would cost more than the event; the first few say enough. */
const MAX_REPAIRS_REPORTED = 5;

export interface Sanitized {
  value: JsonObject;
  repairs: string[];
}

/** Sanitizes a properties/traits argument; anything that is not an object becomes `{}`. */
export function sanitizeProperties(input: unknown, path: string): Sanitized {
  const repairs: string[] = [];
  const repair = (at: string, what: string) => {
    if (repairs.length < MAX_REPAIRS_REPORTED) repairs.push(`${at}: ${what}`);
  };
  if (input == null) return { value: {}, repairs };
  const ancestors = new Set<object>();

  const visit = (value: unknown, at: string, depth: number): JsonValue | undefined => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (Number.isFinite(value)) return value === 0 ? 0 : value; // -0 becomes 0
        repair(at, `${value} is not JSON, sent as null`);
        return null;
      case 'bigint':
        repair(at, 'BigInt sent as a string');
        return value.toString();
      case 'undefined':
        return undefined;
      case 'function':
      case 'symbol':
        repair(at, `${typeof value} dropped`);
        return undefined;
    }
    if (value === null) return null;
    const object = value as object;
    if (ancestors.has(object)) {
      repair(at, 'circular reference replaced');
      return '[Circular]';
    }
    if (depth >= MAX_DEPTH) {
      repair(at, `nested deeper than ${MAX_DEPTH} levels, cut`);
      return '[Too deep]';
    }
    ancestors.add(object);
    try {
      return visitObject(object, at, depth);
    } catch (error) {
      repair(at, `unreadable value dropped (${errorMessage(error)})`);
      return undefined;
    } finally {
      ancestors.delete(object);
    }
  };

  const visitObject = (object: object, at: string, depth: number): JsonValue | undefined => {
    if (object instanceof Date) {
      const time = object.getTime();
      return Number.isNaN(time) ? null : object.toISOString();
    }
    if (Array.isArray(object)) return object.map((item, i) => visit(item, `${at}[${i}]`, depth + 1) ?? null);
    // Sets and typed arrays go as arrays, Maps as objects (fromEntries defines `__proto__` as an own key).
    if (object instanceof Set || (ArrayBuffer.isView(object) && !(object instanceof DataView))) {
      return visit(Array.from(object as Iterable<unknown>), at, depth);
    }
    if (object instanceof Map) return visit(Object.fromEntries(Array.from(object, ([key, item]) => [String(key), item])), at, depth);
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    // One level deeper: a toJSON returning a fresh object with a toJSON would otherwise never hit MAX_DEPTH.
    if (typeof toJSON === 'function') return visit(toJSON.call(object), at, depth + 1);
    const out: JsonObject = {};
    for (const key of Object.keys(object)) {
      let item: unknown;
      try {
        item = (object as Record<string, unknown>)[key];
      } catch (error) {
        repair(`${at}.${key}`, `getter threw (${errorMessage(error)}), dropped`);
        continue;
      }
      setKey(out, key, visit(item, `${at}.${key}`, depth + 1));
    }
    // JSON has no symbol keys: say so, rather than lose the value silently.
    for (const symbol of Object.getOwnPropertySymbols(object)) {
      if (Object.prototype.propertyIsEnumerable.call(object, symbol)) repair(`${at}[${String(symbol)}]`, 'symbol key dropped');
    }
    return out;
  };

  const value = visit(input, path, 0);
  if (value && typeof value === 'object' && !Array.isArray(value)) return { value, repairs };
  if (value !== undefined) repairs.unshift(`${path}: expected an object, got ${show(input)}; replaced by {}`);
  return { value: {}, repairs };
}

/** Assigning `__proto__` would change the prototype instead of adding a key. */
function setKey(target: JsonObject, key: string, value: JsonValue | undefined): void {
  if (value === undefined) return;
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

export function errorMessage(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'unknown error';
  }
}

/** A value as a message shows it: strings quoted, objects by their kind only. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  return value && typeof value === 'object' ? (Array.isArray(value) ? 'an array' : 'an object') : String(value);
}
