// @vitest-environment happy-dom
// @vitest-environment-options {"url": "https://shop.example/start", "settings": {"navigation": {"disableMainFrameNavigation": true, "disableFallbackToSetURL": true}}}
import { afterEach, describe, expect, it } from 'vitest';
import { declarativeEvents, readDeclaredEvent } from '../../src/extras/declarative';
import { createRecordingTracker } from './recording-tracker';

let stop: () => void = () => {};

/** Parses `html` into the page's body. */
function render(html: string): void {
  document.body.innerHTML = html;
}

function clickOn(selector: string): void {
  document.querySelector(selector)!.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, composed: true }));
}

function submit(selector: string): void {
  document.querySelector(selector)!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
}

function tracked(tracker: ReturnType<typeof createRecordingTracker>) {
  return tracker.calls.map(({ name, properties }) => [name, properties]);
}

afterEach(() => {
  stop();
  document.body.replaceChildren();
});

describe('reading a declared event', () => {
  it('names the event after data-homing-event and takes every other data-homing-* attribute as a property', () => {
    expect(readDeclaredEvent({ homingEvent: 'Signed Up', homingPlan: 'pro', homingPlanName: 'Pro yearly', feature: 'ignored' })).toEqual({
      event: 'Signed Up',
      properties: { source: 'declarative', plan: 'pro', planName: 'Pro yearly' },
    });
  });

  it('lets a data-homing-source of the page replace the source', () => {
    expect(readDeclaredEvent({ homingEvent: 'Signed Up', homingSource: 'newsletter' })?.properties).toEqual({ source: 'newsletter' });
  });

  it('declares nothing without an event name', () => {
    expect(readDeclaredEvent({ homingEvent: '  ', homingPlan: 'pro' })).toBeUndefined();
    expect(readDeclaredEvent({ homingPlan: 'pro' })).toBeUndefined();
    expect(readDeclaredEvent({ homingplan: 'pro', homingEvent: 'Clicked' })?.properties).toEqual({ source: 'declarative' });
  });
});

describe('declarative events', () => {
  it('tracks a click on a button, and on anything inside it, with its properties', () => {
    const tracker = createRecordingTracker();
    stop = declarativeEvents(tracker);
    render('<button data-homing-event="Signed Up" data-homing-plan="pro"><span id="label">Sign up</span></button>');
    clickOn('#label');
    expect(tracked(tracker)).toEqual([['Signed Up', { source: 'declarative', plan: 'pro' }]]);
  });

  it('tracks a form when it is submitted, not when something inside it is clicked', () => {
    const tracker = createRecordingTracker();
    stop = declarativeEvents(tracker);
    render('<form id="f" data-homing-event="Newsletter Joined" data-homing-list="weekly"><input id="email"><button id="go">Join</button></form>');
    clickOn('#email');
    expect(tracker.calls).toHaveLength(0);
    submit('#f');
    expect(tracked(tracker)).toEqual([['Newsletter Joined', { source: 'declarative', list: 'weekly' }]]);
  });

  it('tracks elements added after it started', () => {
    const tracker = createRecordingTracker();
    stop = declarativeEvents(tracker);
    render('<div id="later"></div>');
    document.getElementById('later')!.innerHTML = '<a href="#" id="promo" data-homing-event="Promo Opened" data-homing-slot="hero">Promo</a>';
    clickOn('#promo');
    expect(tracked(tracker)).toEqual([['Promo Opened', { source: 'declarative', slot: 'hero' }]]);
  });

  it('tracks a declared submit button inside a declared form as the button, and the submit it causes as the form', () => {
    const tracker = createRecordingTracker();
    stop = declarativeEvents(tracker);
    render('<form id="f" data-homing-event="Order Placed"><button id="pay" data-homing-event="Pay Clicked">Pay</button></form>');
    document.getElementById('f')!.addEventListener('submit', (event) => event.preventDefault());
    clickOn('#pay');
    expect(tracked(tracker).map(([name]) => name)).toEqual(['Pay Clicked', 'Order Placed']);
  });

  it('ignores clicks on elements that declare nothing, and stops listening when stopped', () => {
    const tracker = createRecordingTracker();
    stop = declarativeEvents(tracker);
    render('<button id="plain">Plain</button><button id="declared" data-homing-event="Clicked">Declared</button>');
    clickOn('#plain');
    stop();
    clickOn('#declared');
    expect(tracker.calls).toHaveLength(0);
  });
});
