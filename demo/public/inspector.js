/**
 * The homing inspector: a dev-tool panel that shows the tracker's side (queue, delivery,
 * health, its events) next to the collector's side (what arrived, streamed from
 * /collector/feed) and switches the collector between answers.
 *
 * `tracker` adapts either the snippet's global or a `createTracker()` instance:
 * `{ stats(): object | undefined, on(name, listener), track(name, props), flush() }`;
 * `stats()` returns undefined while the bundle is still loading.
 *
 * Each event shows its source: the extra that tracked it (its `properties.source`: pageviews,
 * links, declarative, vitals), or `app` for the page's own track/page/identify calls.
 */

const STATS_POLL_MS = 250;
/** After this long without a bundle, say why instead of spinning. */
const BUNDLE_HINT_AFTER_MS = 4000;
const MAX_LOG_ITEMS = 40;
const TRACKER_EVENTS = ['queued', 'delivered', 'retry', 'dropped', 'error'];

const MODES = [
  { mode: 'ok', label: '200 OK', hint: 'Answers 200 and stores each new event once.' },
  { mode: '503', label: '503', hint: 'Answers 503 Service Unavailable: the tracker backs off and retries.' },
  { mode: '429', label: '429', hint: 'Answers 429 with Retry-After: 5; the tracker waits at least that long.' },
  { mode: 'slow', label: 'Slow', hint: 'Holds every request 3 s, then accepts it.' },
  { mode: 'refuse', label: 'Refuse', hint: 'Drops the connection without an answer: a network error.' },
];

const TRACKER_STATS = [
  ['queued', 'Queued'],
  ['inFlight', 'In flight'],
  ['delivered', 'Delivered'],
  ['retried', 'Retried'],
  ['dropped', 'Dropped'],
  ['requests', 'Requests'],
];

const COLLECTOR_STATS = [
  ['unique', 'Unique events'],
  ['duplicates', 'Wire duplicates'],
  ['requests', 'Requests'],
  ['rejected', 'Rejected'],
];

/** Builds an element: `el('p', { class: 'x', text: 'hi' }, child)`. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function statList(prefix, entries) {
  return el(
    'dl',
    { class: 'stats' },
    ...entries.map(([key, label]) =>
      el('div', { class: 'stats__item' }, el('dt', { text: label }), el('dd', { id: `${prefix}-${key.toLowerCase()}`, text: '…' })),
    ),
  );
}

function pushLog(list, item) {
  list.prepend(item);
  while (list.children.length > MAX_LOG_ITEMS) list.lastElementChild.remove();
}

function clock(date = new Date()) {
  return date.toLocaleTimeString([], { hour12: false });
}

/**
 * Renders the inspector into `root` and starts polling and streaming.
 * @param {HTMLElement} root
 * @param {{ stats(): any, on(name: string, listener: (payload: any) => void): unknown, track(name: string, props?: object): unknown, flush(): unknown }} tracker
 */
export function mountInspector(root, tracker) {
  const health = el('span', { class: 'badge', id: 'tracker-health', text: 'loading…' });
  const toggle = el('button', { class: 'inspector__toggle', id: 'inspector-toggle', type: 'button', 'aria-expanded': 'true', text: 'Hide' });
  const status = el('p', { class: 'inspector__status', id: 'tracker-status', text: 'loading…' });
  const trackerLog = el('ol', { class: 'log', id: 'tracker-log' });
  const burst = el('button', { class: 'chip-button', id: 'burst-20', type: 'button', text: 'Track 20 events' });
  const flush = el('button', { class: 'chip-button', id: 'flush', type: 'button', text: 'Flush now' });

  const modeButtons = MODES.map(({ mode, label }) =>
    el('button', { class: 'segmented__option', id: `mode-${mode}`, type: 'button', 'data-mode': mode, 'aria-pressed': String(mode === 'ok'), text: label }),
  );
  const modeHint = el('p', { class: 'hint', id: 'mode-hint', text: MODES[0].hint });
  const connection = el('span', { class: 'badge', id: 'collector-connection', text: 'connecting…' });
  const collectorEvents = el('ol', { class: 'log', id: 'collector-events' });

  root.replaceChildren(
    el(
      'header',
      { class: 'inspector__header' },
      el('span', { class: 'inspector__title' }, el('span', { class: 'inspector__logo', 'aria-hidden': 'true' }), 'homing inspector'),
      health,
      toggle,
    ),
    el(
      'div',
      { class: 'inspector__body' },
      el(
        'section',
        { class: 'inspector__section' },
        el('h2', {}, 'Tracker ', el('span', { class: 'muted', id: 'tracker-store', text: '' })),
        status,
        statList('stat', TRACKER_STATS),
        el('div', { class: 'inspector__actions' }, burst, flush),
        el('h3', { text: 'Tracker events' }),
        trackerLog,
      ),
      el(
        'section',
        { class: 'inspector__section' },
        el('h2', {}, 'Collector ', connection),
        el('div', { class: 'segmented', role: 'group', 'aria-label': 'Collector answer' }, ...modeButtons),
        modeHint,
        statList('collector', COLLECTOR_STATS),
        el('h3', { text: 'Received' }),
        collectorEvents,
      ),
    ),
  );

  toggle.addEventListener('click', () => {
    const collapsed = document.body.classList.toggle('inspector-collapsed');
    toggle.textContent = collapsed ? 'Show' : 'Hide';
    toggle.setAttribute('aria-expanded', String(!collapsed));
  });
  burst.addEventListener('click', () => {
    for (let i = 1; i <= 20; i += 1) tracker.track('Burst Event', { index: i, of: 20 });
  });
  flush.addEventListener('click', () => tracker.flush());

  // Tracker side: poll stats, and subscribe to its events once the bundle is there.
  let subscribed = false;
  const startedAt = Date.now();
  setInterval(() => {
    let stats;
    try {
      stats = tracker.stats();
    } catch {
      stats = undefined;
    }
    if (!stats || typeof stats !== 'object') {
      if (Date.now() - startedAt > BUNDLE_HINT_AFTER_MS) {
        status.textContent = 'loading… (no homing bundle yet: run npm run build)';
      }
      return;
    }
    if (!subscribed) {
      subscribed = true;
      status.hidden = true;
      for (const name of TRACKER_EVENTS) tracker.on(name, (payload) => pushLog(trackerLog, trackerLogItem(name, payload)));
    }
    renderTrackerStats(root, stats);
  }, STATS_POLL_MS);

  // Collector side: switch answers, and follow the live feed.
  let currentMode = 'ok';
  const showMode = (mode) => {
    currentMode = mode;
    for (const button of modeButtons) button.setAttribute('aria-pressed', String(button.dataset.mode === mode));
    modeHint.textContent = MODES.find((m) => m.mode === mode)?.hint ?? '';
    root.dataset.collectorMode = mode;
  };
  for (const button of modeButtons) {
    button.addEventListener('click', async () => {
      const previous = currentMode;
      showMode(button.dataset.mode);
      try {
        const response = await fetch('/collector/mode', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ mode: button.dataset.mode }),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
      } catch {
        showMode(previous);
      }
    });
  }

  const renderTotals = (totals) => {
    for (const [key] of COLLECTOR_STATS) {
      const value = totals[key];
      if (value !== undefined) root.querySelector(`#collector-${key}`).textContent = String(value);
    }
  };
  const feed = new EventSource('/collector/feed');
  feed.addEventListener('open', () => setBadge(connection, 'live', 'healthy'));
  feed.addEventListener('error', () => setBadge(connection, 'reconnecting…', 'degraded'));
  feed.addEventListener('snapshot', (message) => {
    const snapshot = JSON.parse(message.data);
    showMode(snapshot.mode);
    renderTotals(snapshot);
    collectorEvents.replaceChildren();
    for (const event of snapshot.events) pushLog(collectorEvents, collectorEventItem(event));
  });
  feed.addEventListener('rejected', (message) => {
    const { status: answer, totals } = JSON.parse(message.data);
    renderTotals(totals);
    pushLog(collectorEvents, el('li', { class: 'log__item log__item--bad' }, el('span', { class: 'tag tag--bad', text: String(answer) }), el('span', { text: 'request not accepted' }), el('time', { text: clock() })));
  });
  feed.addEventListener('message', (message) => {
    const data = JSON.parse(message.data);
    if (data.mode) return showMode(data.mode);
    if (data.totals) renderTotals(data.totals);
    for (const event of data.events ?? []) pushLog(collectorEvents, collectorEventItem(event));
    if (data.duplicates > 0) {
      pushLog(collectorEvents, el('li', { class: 'log__item log__item--muted' }, el('span', { class: 'tag', text: 'dup' }), el('span', { text: `${data.duplicates} wire duplicate${data.duplicates === 1 ? '' : 's'} ignored` }), el('time', { text: clock() })));
    }
  });
}

function setBadge(badge, text, tone) {
  badge.textContent = text;
  badge.dataset.tone = tone;
}

function renderTrackerStats(root, stats) {
  for (const [key] of TRACKER_STATS) {
    const cell = root.querySelector(`#stat-${key.toLowerCase()}`);
    if (cell && stats[key] !== undefined) cell.textContent = String(stats[key]);
  }
  const dropped = root.querySelector('#stat-dropped');
  const reasons = Object.entries(stats.droppedBy ?? {}).filter(([, count]) => count > 0);
  dropped.title = reasons.map(([reason, count]) => `${reason}: ${count}`).join(', ') || 'nothing dropped';
  root.querySelector('#tracker-store').textContent = stats.store ? `· ${stats.store}` : '';
  const health = root.querySelector('#tracker-health');
  const tone = { healthy: 'healthy', degraded: 'degraded', failing: 'failing' }[stats.health] ?? 'degraded';
  setBadge(health, stats.health ?? 'unknown', tone);
}

function eventLabel(event) {
  // An automatic page view has no name: its path says which route it was.
  return event?.event ?? event?.name ?? (event?.type === 'page' ? (event?.properties?.path ?? event?.path) : undefined) ?? event?.type ?? 'event';
}

/**
 * What tracked the event: an extra names itself in `properties.source` (the collector's feed
 * passes it on as `source`); the page's own calls do not.
 */
function eventSource(event) {
  const source = event?.properties?.source ?? event?.source;
  return typeof source === 'string' && source ? source : 'app';
}

function sourceTag(event) {
  const source = eventSource(event);
  return el('span', { class: `tag tag--source${source === 'app' ? '' : ' tag--extra'}`, title: `tracked by ${source === 'app' ? "the page's own code" : `homing/${source}`}`, text: source });
}

function trackerLogItem(name, payload) {
  const describe = {
    queued: () => eventLabel(payload),
    delivered: () => `${payload?.events?.length ?? 0} event(s)`,
    retry: () => `attempt ${payload?.attempt} in ${((payload?.delayMs ?? 0) / 1000).toFixed(1)} s`,
    dropped: () => `${payload?.events?.length ?? 0} event(s): ${payload?.reason}`,
    error: () => `${payload?.code ?? 'error'}: ${payload?.message ?? ''}`,
  }[name];
  const tone = { delivered: 'good', retry: 'warn', dropped: 'bad', error: 'bad' }[name] ?? '';
  return el(
    'li',
    { class: `log__item${tone ? ` log__item--${tone}` : ''}` },
    el('span', { class: `tag${tone ? ` tag--${tone}` : ''}`, text: name }),
    el('span', { class: 'log__text', text: describe() }),
    ...(name === 'queued' ? [sourceTag(payload)] : []),
    el('time', { text: clock() }),
  );
}

function collectorEventItem(event) {
  const sent = event.timestamp ? new Date(event.timestamp) : new Date();
  return el(
    'li',
    { class: 'log__item' },
    el('span', { class: `tag tag--${event.type}`, text: event.type }),
    el('span', { class: 'log__text', text: eventLabel(event) }),
    sourceTag(event),
    el('code', { title: event.messageId, text: String(event.messageId).slice(0, 8) }),
    el('time', { text: clock(sent) }),
  );
}
