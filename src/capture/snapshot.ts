/**
 * A JSON-safe copy of whatever a host page passes as properties, taken when track() is called
 * so later changes to the object do not leak into the event. Nothing here throws: a value JSON
 * cannot carry is repaired, and each repair is reported with its path and a keyword.
 */
import { errorMessage } from '../errors';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Why a value was changed: the `reason` of an `invalid_property` error. */
export type Repair = 'notFinite' | 'bigint' | 'dropped' | 'circular' | 'tooDeep' | 'unreadable' | 'symbolKey' | 'notObject' | 'truncated';

export type OnRepair = (path: string, reason: Repair, detail?: string) => void;

/** Nesting deeper than this is cut: no real property bag needs it and deep recursion can overflow. */
export const MAX_DEPTH = 32;

/** Copies a properties/traits argument; anything that is not an object becomes `{}`. */
export function snapshot(input: unknown, path: string, repair: OnRepair): JsonObject {
  if (input == null) return {};
  const ancestors = new Set<object>();

  const visit = (value: unknown, at: string, depth: number): JsonValue | undefined => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (Number.isFinite(value)) return value === 0 ? 0 : value; // -0 becomes 0
        repair(at, 'notFinite', String(value));
        return null;
      case 'bigint':
        repair(at, 'bigint');
        return value.toString();
      case 'undefined':
        return undefined;
      case 'function':
      case 'symbol':
        repair(at, 'dropped', typeof value);
        return undefined;
    }
    if (value === null) return null;
    const object = value as object;
    if (ancestors.has(object)) {
      repair(at, 'circular');
      return '[Circular]';
    }
    if (depth >= MAX_DEPTH) {
      repair(at, 'tooDeep');
      return '[Too deep]';
    }
    ancestors.add(object);
    try {
      return visitObject(object, at, depth);
    } catch (error) {
      repair(at, 'unreadable', errorMessage(error));
      return undefined;
    } finally {
      ancestors.delete(object);
    }
  };

  const visitObject = (object: object, at: string, depth: number): JsonValue | undefined => {
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
    if (Array.isArray(object)) return object.map((item, i) => visit(item, `${at}[${i}]`, depth + 1) ?? null);
    // Sets and typed arrays go as arrays, Maps as objects.
    if (object instanceof Set || (ArrayBuffer.isView(object) && !(object instanceof DataView))) {
      return visit(Array.from(object as Iterable<unknown>), at, depth);
    }
    if (object instanceof Map) return visit(Object.fromEntries(Array.from(object, ([key, item]) => [String(key), item])), at, depth);
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    // One level deeper: a toJSON returning a fresh object with a toJSON would otherwise never hit MAX_DEPTH.
    if (typeof toJSON === 'function') return visit(toJSON.call(object), at, depth + 1);
    const copy: JsonObject = {};
    for (const key of Object.keys(object)) {
      let item: unknown;
      try {
        item = (object as Record<string, unknown>)[key];
      } catch (error) {
        repair(`${at}.${key}`, 'unreadable', errorMessage(error));
        continue;
      }
      const json = visit(item, `${at}.${key}`, depth + 1);
      // Assigning `__proto__` would change the prototype instead of adding a key.
      if (json !== undefined) Object.defineProperty(copy, key, { value: json, enumerable: true, writable: true, configurable: true });
    }
    for (const symbol of Object.getOwnPropertySymbols(object)) {
      if (Object.prototype.propertyIsEnumerable.call(object, symbol)) repair(`${at}[${String(symbol)}]`, 'symbolKey');
    }
    return copy;
  };

  const value = visit(input, path, 0);
  if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  if (value !== undefined) repair(path, 'notObject', typeof input);
  return {};
}

/** Debug build only: a repair in words, as the old messages had it. */
export function describeRepair(path: string, reason: Repair, detail?: string): string {
  const words: Record<Repair, string> = {
    notFinite: `${detail} is not JSON, sent as null`,
    bigint: 'BigInt sent as a string',
    dropped: `${detail} dropped`,
    circular: 'circular reference replaced',
    tooDeep: `nested deeper than ${MAX_DEPTH} levels, cut`,
    unreadable: `unreadable value dropped (${detail})`,
    symbolKey: 'symbol key dropped',
    notObject: `expected an object, got ${detail}; replaced by {}`,
    truncated: `string cut to ${detail} characters to keep the event under the size limit`,
  };
  return `${path}: ${words[reason]}`;
}
