// The copy-paste snippet: a stub `homing(...)` that records calls until the bundle loads and
// replays them. The build minifies it into dist/snippet.min.js; replace the URL and options.
!(function (w, d, src, options) {
  if (w.homing) return;
  var h = (w.homing = function () {
    h.q.push(arguments);
  });
  var s = d.createElement('script');
  h.q = [];
  s.async = true;
  s.src = src;
  d.head.appendChild(s);
  h('init', options);
})(window, document, '/dist/homing.iife.js', { endpoint: '/v1/batch' });
