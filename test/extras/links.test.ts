// @vitest-environment happy-dom
// @vitest-environment-options {"url": "https://shop.example/start", "settings": {"navigation": {"disableMainFrameNavigation": true, "disableFallbackToSetURL": true}}}
import { afterEach, describe, expect, it } from 'vitest';
import { classifyLink, DOWNLOAD_EXTENSIONS, links } from '../../src/extras/links';
import { createRecordingTracker } from './recording-tracker';

const PAGE_ORIGIN = 'https://shop.example';
const DEFAULT_EXTENSIONS = new Set(DOWNLOAD_EXTENSIONS);
let stop: () => void = () => {};

function anchor(href: string, attributes: Record<string, string> = {}): HTMLAnchorElement {
  const link = document.createElement('a');
  link.href = href;
  for (const [name, value] of Object.entries(attributes)) link.setAttribute(name, value);
  link.append(Object.assign(document.createElement('span'), { textContent: 'label' }));
  document.body.append(link);
  return link;
}

/** Clicks the label inside `link` as a user would, and tells whether anything prevented the default. */
function click(link: HTMLAnchorElement, init: MouseEventInit = {}, type: 'click' | 'auxclick' = 'click'): { defaultPrevented: boolean } {
  const event = new MouseEvent(type, { bubbles: true, cancelable: true, composed: true, button: 0, ...init });
  link.firstElementChild!.dispatchEvent(event);
  return { defaultPrevented: event.defaultPrevented };
}

function tracked(tracker: ReturnType<typeof createRecordingTracker>) {
  return tracker.calls.map(({ method, name, properties }) => ({ method, name, properties }));
}

afterEach(() => {
  stop();
  document.body.replaceChildren();
});

describe('what a link leads to', () => {
  it('calls a link to another origin outbound', () => {
    expect(classifyLink(anchor('https://partner.example/offer'), PAGE_ORIGIN, DEFAULT_EXTENSIONS)).toEqual({
      event: 'Outbound Link Clicked',
      properties: { href: 'https://partner.example/offer', source: 'links' },
    });
  });

  it('calls a link to a file by its extension a download, on this origin or another', () => {
    expect(classifyLink(anchor('/files/Price-List.PDF?v=2'), PAGE_ORIGIN, DEFAULT_EXTENSIONS)).toEqual({
      event: 'File Downloaded',
      properties: { href: 'https://shop.example/files/Price-List.PDF?v=2', extension: 'pdf', source: 'links' },
    });
    expect(classifyLink(anchor('https://cdn.example/app.dmg'), PAGE_ORIGIN, DEFAULT_EXTENSIONS)?.event).toBe('File Downloaded');
  });

  it('calls a link with a download attribute a download, whatever its extension', () => {
    expect(classifyLink(anchor('/export?format=json', { download: '' }), PAGE_ORIGIN, DEFAULT_EXTENSIONS)).toEqual({
      event: 'File Downloaded',
      properties: { href: 'https://shop.example/export?format=json', extension: '', source: 'links' },
    });
  });

  it('ignores links within the site, and links that are not http(s)', () => {
    for (const href of ['/pricing', 'https://shop.example/about', 'mailto:ada@example.com', 'tel:+15555550100', 'javascript:void 0']) {
      expect(classifyLink(anchor(href), PAGE_ORIGIN, DEFAULT_EXTENSIONS)).toBeUndefined();
    }
  });

  it('reads the extension from the file name only, not from a dot in a folder or the host', () => {
    expect(classifyLink(anchor('/v1.2/notes'), PAGE_ORIGIN, DEFAULT_EXTENSIONS)).toBeUndefined();
    expect(classifyLink(anchor('https://files.zip/'), PAGE_ORIGIN, DEFAULT_EXTENSIONS)?.event).toBe('Outbound Link Clicked');
  });
});

describe('link clicks', () => {
  it('tracks a click on an outbound link and leaves the navigation alone', () => {
    const tracker = createRecordingTracker();
    stop = links(tracker);
    const link = anchor('https://partner.example/offer');
    expect(click(link)).toEqual({ defaultPrevented: false });
    expect(tracked(tracker)).toEqual([
      { method: 'track', name: 'Outbound Link Clicked', properties: { href: 'https://partner.example/offer', source: 'links' } },
    ]);
  });

  it('counts modifier clicks and middle clicks, not right clicks', () => {
    const tracker = createRecordingTracker();
    stop = links(tracker);
    const link = anchor('https://partner.example/offer');
    click(link, { ctrlKey: true });
    click(link, { metaKey: true, shiftKey: true });
    click(link, { button: 1 }, 'auxclick');
    click(link, { button: 2 }, 'auxclick');
    // Browsers that still fire click for the middle button fire auxclick too: one of them counts.
    click(link, { button: 1 }, 'click');
    expect(tracker.calls).toHaveLength(3);
  });

  it('tracks links added after it started, with the extensions it was given', () => {
    const tracker = createRecordingTracker();
    stop = links(tracker, { extensions: ['.Sketch'] });
    click(anchor('/design/board.sketch'));
    click(anchor('/files/report.pdf'));
    expect(tracked(tracker)).toEqual([
      { method: 'track', name: 'File Downloaded', properties: { href: 'https://shop.example/design/board.sketch', extension: 'sketch', source: 'links' } },
    ]);
  });

  it('sees a click that the page stops from bubbling', () => {
    const tracker = createRecordingTracker();
    stop = links(tracker);
    const link = anchor('https://partner.example/offer');
    link.addEventListener('click', (event) => event.stopPropagation());
    click(link);
    expect(tracker.calls).toHaveLength(1);
  });

  it('stops listening when stopped', () => {
    const tracker = createRecordingTracker();
    stop = links(tracker);
    stop();
    click(anchor('https://partner.example/offer'));
    expect(tracker.calls).toHaveLength(0);
  });
});
