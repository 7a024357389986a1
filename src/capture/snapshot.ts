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

/** One copy under way: where it is, and who hears of repairs. Paths are spelled out only for a repair. */
interface Walk {
  repair: OnRepair;
  root: string;
  /** The keys from the root to the value being visited. */
  keys: Array<string | number>;
  /** The objects from the root to the value being visited: one met again is a cycle. */
  ancestors: object[];
}

/** Copies a properties/traits argument; anything that is not an object becomes `{}`. */
export function snapshot(input: unknown, path: string, repair: OnRepair): JsonObject {
  if (input == null) return {};
  const value = visit({ repair, root: path, keys: [], ancestors: [] }, input, 0);
  if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  if (value !== undefined) repair(path, 'notObject', typeof input);
  return {};
}

/** `properties.items[2].sku` */
const pathOf = ({ root, keys }: Walk) => root + keys.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
/** Reports a repair of the value being visited. */
const repairHere = (walk: Walk, reason: Repair, ...detail: [detail?: string]) => walk.repair(pathOf(walk), reason, ...detail);

function visit(walk: Walk, value: unknown, depth: number): JsonValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value === 0 ? 0 : value; // -0 becomes 0
      repairHere(walk, 'notFinite', String(value));
      return null;
    case 'bigint':
      repairHere(walk, 'bigint');
      return value.toString();
    case 'undefined':
      return undefined;
    case 'function':
    case 'symbol':
      repairHere(walk, 'dropped', typeof value);
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (walk.ancestors.includes(object)) {
    repairHere(walk, 'circular');
    return '[Circular]';
  }
  if (depth >= MAX_DEPTH) {
    repairHere(walk, 'tooDeep');
    return '[Too deep]';
  }
  const depthOfKeys = walk.keys.length;
  walk.ancestors.push(object);
  try {
    return visitObject(walk, object, depth);
  } catch (error) {
    walk.keys.length = depthOfKeys;
    repairHere(walk, 'unreadable', errorMessage(error));
    return undefined;
  } finally {
    walk.ancestors.pop();
  }
}

function visitChild(walk: Walk, key: string | number, value: unknown, depth: number): JsonValue | undefined {
  walk.keys.push(key);
  const json = visit(walk, value, depth);
  walk.keys.pop();
  return json;
}

function visitObject(walk: Walk, object: object, depth: number): JsonValue | undefined {
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
  if (Array.isArray(object)) return object.map((item, i) => visitChild(walk, i, item, depth + 1) ?? null);
  // Sets and typed arrays go as arrays, Maps as objects.
  if (object instanceof Set || (ArrayBuffer.isView(object) && !(object instanceof DataView))) {
    return visit(walk, Array.from(object as Iterable<unknown>), depth);
  }
  if (object instanceof Map) return visit(walk, Object.fromEntries(Array.from(object, ([key, item]) => [String(key), item])), depth);
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  // One level deeper: a toJSON returning a fresh object with a toJSON would otherwise never hit MAX_DEPTH.
  if (typeof toJSON === 'function') return visit(walk, toJSON.call(object), depth + 1);
  const copy: JsonObject = {};
  for (const key of Object.keys(object)) {
    let item: unknown;
    try {
      item = (object as Record<string, unknown>)[key];
    } catch (error) {
      walk.repair(`${pathOf(walk)}.${key}`, 'unreadable', errorMessage(error));
      continue;
    }
    const json = visitChild(walk, key, item, depth + 1);
    if (json === undefined) continue;
    // Assigning `__proto__` would change the prototype instead of adding a key.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: json, enumerable: true, writable: true, configurable: true });
    else copy[key] = json;
  }
  for (const symbol of Object.getOwnPropertySymbols(object)) {
    if (Object.prototype.propertyIsEnumerable.call(object, symbol)) walk.repair(`${pathOf(walk)}[${String(symbol)}]`, 'symbolKey');
  }
  return copy;
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
