// The copy-paste snippet: a stub `homing(...)` that records calls until the bundle loads and
// replays them. The build minifies it into dist/snippet.min.js; replace the URL and options.
// An optional fifth argument, the bundle's `sha384-…` integrity (dist/integrity.json), makes the
// browser refuse a bundle whose bytes differ; crossOrigin is what lets it check one from a CDN.
!(function (w, d, src, options, integrity) {
  if (w.homing) return;
  var h = (w.homing = function () {
    h.q.push(arguments);
  });
  var s = d.createElement('script');
  h.q = [];
  s.async = true;
  s.src = src;
  if (integrity) {
    s.integrity = integrity;
    s.crossOrigin = 'anonymous';
  }
  d.head.appendChild(s);
  h('init', options);
})(window, document, '/dist/homing.iife.js', { endpoint: '/v1/batch' });
