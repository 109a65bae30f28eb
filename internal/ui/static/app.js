// Without JavaScript the pages are complete: a column's histograms are one link away and a
// page shows its state at load. With it, a column's histograms replace the shown ones in
// place, and when a cycle ends the server sends an event and the page's main content is
// fetched again and swapped in, without a reload.
(function () {
  'use strict';
  if (!window.fetch || !window.DOMParser) {
    return;
  }
  var fetchMain = function (href) {
    return fetch(href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { return html && new DOMParser().parseFromString(html, 'text/html'); });
  };

  // A column's link shows its histograms here instead of loading the page again.
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest && ev.target.closest('a.col-link');
    if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) {
      return;
    }
    ev.preventDefault();
    fetchMain(a.href).then(function (doc) {
      var fresh = doc && doc.getElementById('column-histogram');
      var cur = document.getElementById('column-histogram');
      if (!fresh || !cur) { window.location.assign(a.href); return; }
      cur.replaceWith(document.importNode(fresh, true));
      document.querySelectorAll('tr.col-row.selected').forEach(function (tr) { tr.classList.remove('selected'); });
      document.querySelectorAll('a.col-link[aria-current]').forEach(function (l) { l.removeAttribute('aria-current'); });
      a.setAttribute('aria-current', 'true');
      a.closest('tr').classList.add('selected');
      window.history.replaceState(null, '', a.href);
    }).catch(function () { window.location.assign(a.href); });
  });

  if (!document.body.hasAttribute('data-live') || !window.EventSource) {
    return;
  }
  var updates = 0;
  var refresh = function () {
    fetchMain(window.location.href)
      .then(function (doc) {
        var fresh = doc && doc.getElementById('main');
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
