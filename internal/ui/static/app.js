// Live updates: when a cycle ends the server sends an event, and the page's main content is
// fetched again and swapped in, without a reload. Without JavaScript the pages are complete;
// they are only not live.
(function () {
  'use strict';
  if (!document.body.hasAttribute('data-live') || !window.EventSource || !window.fetch) {
    return;
  }
  var updates = 0;
  var refresh = function () {
    fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('main');
        var cur = document.getElementById('main');
        if (!fresh || !cur) { return; }
        cur.replaceWith(document.importNode(fresh, true));
        updates++;
        document.body.setAttribute('data-updates', String(updates));
      })
      .catch(function () { /* the next cycle tries again */ });
  };
  var events = new EventSource('/ui/events');
  events.addEventListener('cycle', refresh);
  window.addEventListener('pagehide', function () { events.close(); });
})();
