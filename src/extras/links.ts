/**
 * `homing/links`: clicks on links that leave the site or fetch a file, without code.
 * - 'File Downloaded' `{ href, extension }`: a link whose path ends in one of `extensions`, or
 *   that has a `download` attribute, on any origin.
 * - 'Outbound Link Clicked' `{ href }`: any other http(s) link to another origin.
 * Both carry `source: 'links'`. Plain, modifier (ctrl, shift, meta, alt) and middle clicks count.
 *
 * The click is only recorded: no `preventDefault`, no waiting, so the navigation starts as it
 * would without homing. The event leaves with the tracker's page-exit hand-off when the page
 * goes at once. One listener on `document`, in the capture phase so a page's `stopPropagation`
 * cannot hide a click, serves every link, those added later too.
 */
import type { Tracker } from '../index';

export interface LinksOptions {
  /** File extensions, without the dot, that make a link a download. Default DOWNLOAD_EXTENSIONS. */
  extensions?: string[];
}

/** The one method of a tracker this extra needs. */
export type LinkTracker = Pick<Tracker, 'track'>;

/** What sites offer for download most often: documents, archives, installers, media. */
export const DOWNLOAD_EXTENSIONS: readonly string[] = [
  'pdf', 'csv', 'txt', 'rtf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'key', 'epub',
  'zip', '7z', 'rar', 'gz', 'tgz', 'dmg', 'pkg', 'exe', 'msi', 'deb', 'rpm', 'apk', 'iso',
  'mp3', 'wav', 'mp4', 'mov', 'avi', 'webm', 'mkv',
];

/** `MouseEvent.button` of the middle button: it opens a link in a new tab and fires only `auxclick`. */
const MIDDLE_BUTTON = 1;
/** `MouseEvent.button` of the primary button, the only one that fires `click` on a link. */
const PRIMARY_BUTTON = 0;

/** What a click on a link means for the tracker, or undefined when it is neither download nor outbound. */
export type LinkClick =
  | { event: 'File Downloaded'; properties: { href: string; extension: string; source: 'links' } }
  | { event: 'Outbound Link Clicked'; properties: { href: string; source: 'links' } };

/** Starts recording link clicks into `tracker`; returns the function that stops it. */
export function links(tracker: LinkTracker, options: LinksOptions = {}): () => void {
  const document = globalThis.document;
  if (typeof document?.addEventListener !== 'function') return () => {};
  const extensions = new Set((options.extensions ?? DOWNLOAD_EXTENSIONS).map((extension) => extension.replace(/^\./, '').toLowerCase()));

  const onClick = (event: Event) => {
    const button = (event as MouseEvent).button;
    if (event.type === 'click' ? button !== PRIMARY_BUTTON : button !== MIDDLE_BUTTON) return;
    const link = clickedLink(event);
    const click = link && classifyLink(link, globalThis.location?.origin, extensions);
    if (click) tracker.track(click.event, click.properties);
  };
  document.addEventListener('click', onClick, true);
  document.addEventListener('auxclick', onClick, true);
  return () => {
    document.removeEventListener('click', onClick, true);
    document.removeEventListener('auxclick', onClick, true);
  };
}

/** The link the click landed in, looking inside open shadow roots too. */
function clickedLink(event: Event): HTMLAnchorElement | HTMLAreaElement | undefined {
  const target = event.composedPath?.()[0] ?? event.target;
  const link = (target as Element | null)?.closest?.('a[href], area[href]');
  // An SVG <a> has an SVGAnimatedString href; such links are rare enough to skip.
  return link && typeof (link as HTMLAnchorElement).href === 'string' ? (link as HTMLAnchorElement) : undefined;
}

/** Decides what a link leads to: a file by its extension or `download`, another origin, or neither. */
export function classifyLink(
  link: Pick<HTMLAnchorElement, 'href' | 'hasAttribute'>,
  pageOrigin: string | undefined,
  extensions: ReadonlySet<string>,
): LinkClick | undefined {
  let url: URL;
  try {
    url = new URL(link.href);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const href = url.href;
  const fileName = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  const dot = fileName.lastIndexOf('.');
  const extension = dot > 0 ? fileName.slice(dot + 1).toLowerCase() : '';
  if (extensions.has(extension) || link.hasAttribute('download')) {
    return { event: 'File Downloaded', properties: { href, extension, source: 'links' } };
  }
  if (url.origin !== pageOrigin) return { event: 'Outbound Link Clicked', properties: { href, source: 'links' } };
  return undefined;
}
