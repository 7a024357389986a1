/**
 * `homing/declarative`: events written in the markup.
 * `<button data-homing-event="Signed Up" data-homing-plan="pro">` tracks 'Signed Up' with
 * `{ plan: 'pro', source: 'declarative' }` when clicked; a `<form data-homing-event="…">` tracks
 * when submitted (its fields are never read). Every other `data-homing-*` attribute becomes a
 * property, named as `dataset` names it (`data-homing-plan-name` → `planName`), its value a string;
 * a `data-homing-source` of the page's own replaces `source`.
 *
 * One listener on `document` per kind of event (click, submit), in the capture phase so a
 * page's `stopPropagation` cannot hide it, serves every element, those added later too.
 */
import type { Tracker } from '../index';

/** The one method of a tracker this extra needs. */
export type DeclarativeTracker = Pick<Tracker, 'track'>;

/** The attribute that names the event; the other `data-homing-*` attributes are its properties. */
export const EVENT_ATTRIBUTE = 'data-homing-event';
/** `dataset` spells a `data-homing-plan` attribute as the key `homingPlan`. */
const DATASET_KEY = /^homing([A-Z])(.*)$/;
/** The `dataset` key of EVENT_ATTRIBUTE. */
const EVENT_KEY = 'homingEvent';

/** What an element with EVENT_ATTRIBUTE asks to track. */
export interface DeclaredEvent {
  event: string;
  properties: Record<string, string>;
}

/** Starts tracking the events declared in the page's markup; returns the function that stops it. */
export function declarativeEvents(tracker: DeclarativeTracker): () => void {
  const document = globalThis.document;
  if (typeof document?.addEventListener !== 'function') return () => {};
  const onClick = (event: Event) => {
    const element = declaringElement(event);
    // A form is tracked when it is submitted, not when something inside it is clicked.
    if (element && element.tagName !== 'FORM') trackDeclared(tracker, element);
  };
  const onSubmit = (event: Event) => {
    const form = event.target as HTMLElement | null;
    if (form?.hasAttribute?.(EVENT_ATTRIBUTE)) trackDeclared(tracker, form);
  };
  document.addEventListener('click', onClick, true);
  document.addEventListener('submit', onSubmit, true);
  return () => {
    document.removeEventListener('click', onClick, true);
    document.removeEventListener('submit', onSubmit, true);
  };
}

/** The nearest element around the click that declares an event, inside open shadow roots too. */
function declaringElement(event: Event): HTMLElement | undefined {
  const target = event.composedPath?.()[0] ?? event.target;
  return ((target as Element | null)?.closest?.(`[${EVENT_ATTRIBUTE}]`) as HTMLElement | null) ?? undefined;
}

function trackDeclared(tracker: DeclarativeTracker, element: HTMLElement): void {
  const declared = readDeclaredEvent(element.dataset);
  if (declared) tracker.track(declared.event, declared.properties);
}

/** Reads the event and its properties from an element's `dataset`; undefined without an event name. */
export function readDeclaredEvent(dataset: DOMStringMap): DeclaredEvent | undefined {
  const event = dataset[EVENT_KEY]?.trim();
  if (!event) return undefined;
  const properties: Record<string, string> = { source: 'declarative' };
  for (const [key, value] of Object.entries(dataset)) {
    const parts = DATASET_KEY.exec(key);
    if (key === EVENT_KEY || !parts || value === undefined) continue;
    properties[parts[1]!.toLowerCase() + parts[2]] = value;
  }
  return { event, properties };
}
