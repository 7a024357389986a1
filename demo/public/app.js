/**
 * The Lumen Notes page, instrumented through the snippet's `homing(...)` global. Calls made
 * before dist/homing.iife.js arrives are queued by the stub and replayed when it loads.
 * The extras loaded by index.html track the rest without code here: the outbound link and the
 * price-sheet download (homing-links), the tour and plan buttons through their
 * data-homing-event attributes (homing-declarative), and the page's web vitals (homing-vitals).
 */
import { mountInspector } from '/inspector.js';

/** The global is swapped from the stub to the real one when the bundle loads: look it up per call. */
const homing = (...args) => window.homing?.(...args);

let bundleLoaded = false;
document.querySelector('script[src$="/dist/homing.iife.js"]')?.addEventListener('load', () => {
  bundleLoaded = true;
});
/** The stub only queues; asking it for stats would push the question into its queue. */
const isReady = () => bundleLoaded || (typeof window.homing === 'function' && !Array.isArray(window.homing.q));

homing('page', 'Home');

mountInspector(document.getElementById('inspector'), {
  stats: () => (isReady() ? homing('stats') : undefined),
  on: (name, listener) => homing('on', name, listener),
  track: (name, props) => homing('track', name, props),
  flush: () => homing('flush'),
});

document.getElementById('cta-start').addEventListener('click', () => homing('track', 'CTA Clicked', { cta: 'start', location: 'hero' }));
document.getElementById('nav-signup').addEventListener('click', () => homing('track', 'CTA Clicked', { cta: 'start', location: 'header' }));
document.getElementById('link-spa').addEventListener('click', () => homing('track', 'Link Clicked', { href: '/spa/' }));

const featureDetail = document.getElementById('feature-detail');
for (const button of document.querySelectorAll('[data-feature]')) {
  button.addEventListener('click', () => {
    const feature = button.dataset.feature;
    homing('track', 'Feature Viewed', { feature });
    featureDetail.textContent = `${feature}: tracked as “Feature Viewed”. Watch it travel in the inspector →`;
    featureDetail.hidden = false;
  });
}

const planSelect = document.getElementById('signup-plan');
for (const button of document.querySelectorAll('[data-plan]')) {
  // 'Plan Selected' is tracked from the button's data-homing-* attributes.
  button.addEventListener('click', () => {
    const { plan } = button.dataset;
    planSelect.value = plan;
    document.getElementById('signup').scrollIntoView({ behavior: 'smooth' });
  });
}

const form = document.getElementById('signup-form');
const result = document.getElementById('signup-result');
form.addEventListener('submit', (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const name = String(data.get('name') || '').trim() || 'friend';
  const email = String(data.get('email') || '').trim();
  const plan = String(data.get('plan'));
  if (email) homing('identify', email, { name, email, plan });
  homing('track', 'Signed Up', { plan, method: 'email' });
  result.textContent = `Welcome aboard, ${name}! Your ${plan} workspace is ready.`;
  result.dataset.state = 'success';
});
