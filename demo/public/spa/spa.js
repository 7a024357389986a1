/**
 * The single-page Lumen Notes app: the ESM build of homing, client-side routing with
 * `history.pushState`, and automatic page views (homing/pageviews): no `page()` call here.
 */
import { createTracker } from '/dist/homing.mjs';
import { pageviews } from '/dist/pageviews.mjs';
import { mountInspector } from '/inspector.js';

const tracker = createTracker({ endpoint: '/v1/batch', debug: true });
// Tests drive and inspect the tracker through this global.
window.tracker = tracker;
pageviews(tracker);

const ROUTES = {
  '/spa/': { name: 'Home', template: 'route-home' },
  '/spa/pricing': { name: 'Pricing', template: 'route-pricing' },
  '/spa/about': { name: 'About', template: 'route-about' },
};
const NOT_FOUND = { name: 'Not Found', template: 'route-not-found' };

const view = document.getElementById('view');

function render() {
  const path = location.pathname === '/spa' ? '/spa/' : location.pathname;
  const route = ROUTES[path] ?? NOT_FOUND;
  const template = /** @type {HTMLTemplateElement} */ (document.getElementById(route.template));
  view.replaceChildren(template.content.cloneNode(true));
  document.title = `${route.name} · Lumen Notes app`;
  for (const link of document.querySelectorAll('.site-nav a[data-route]')) {
    if (link.pathname === path) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[data-route]') : null;
  // Let the browser handle new-tab clicks and anything off this origin.
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.origin !== location.origin) return;
  event.preventDefault();
  if (link.pathname === location.pathname) return;
  history.pushState(null, '', link.href);
  render();
});
window.addEventListener('popstate', render);

view.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-plan]') : null;
  if (button) tracker.track('Plan Selected', { plan: button.dataset.plan, price: Number(button.dataset.price), location: 'app' });
});

mountInspector(document.getElementById('inspector'), {
  stats: () => tracker.stats(),
  on: (name, listener) => tracker.on(name, listener),
  track: (name, props) => tracker.track(name, props),
  flush: () => tracker.flush(),
});

render();
