// failoverd status page: live updates over Server-Sent Events (/ui/events),
// filters, search and pages without reloading the page, relative times kept
// fresh, and a clear "daemon not answering" state.
// Plain script, no library, no build step; the server escapes every value.
'use strict';
(function () {
  var live = document.getElementById('live');
  var conn = document.getElementById('conn');
  var search = document.getElementById('search');
  if (!live || !conn || typeof EventSource === 'undefined') return;
  /** Pings come every 5 s: this much silence means the daemon is not answering. */
  var SILENCE_MS = 12000;
  var lastHeard = Date.now();
  var lastUpdate = Date.now();
  var downSince = 0;
  var downWhy = '';
  var source = null;
  var typing = 0;

  function clock(ms) {
    return new Date(ms).toISOString().slice(11, 19) + ' UTC';
  }
  function ago(ms) {
    var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 120) return s + 's ago';
    if (s < 7200) return Math.round(s / 60) + 'm ago';
    return Math.round(s / 3600) + 'h ago';
  }
  function refreshTimes() {
    var times = live.querySelectorAll('time.rel');
    for (var i = 0; i < times.length; i++) {
      var at = Date.parse(times[i].getAttribute('datetime'));
      if (!isNaN(at)) times[i].textContent = ago(at);
    }
  }
  function show() {
    if (downSince) {
      document.body.classList.add('stale');
      conn.className = 'conn conn-down';
      conn.textContent = 'DAEMON NOT ANSWERING since ' + clock(downSince) + ' (' + downWhy + '). What you see is the state of ' + clock(lastUpdate) + ' (' + ago(lastUpdate) + '); retrying.';
    } else {
      document.body.classList.remove('stale');
      conn.className = 'conn conn-live';
      conn.textContent = 'Live: last update ' + clock(lastUpdate) + '.';
    }
  }
  function heard() {
    lastHeard = Date.now();
    if (downSince) downSince = 0;
    show();
  }
  function down(why) {
    if (!downSince) downSince = Date.now();
    downWhy = why;
    show();
  }
  /** An element from server-rendered HTML (escaped by the server). */
  function element(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    return t.content.firstElementChild;
  }
  /** Replaces the rows of an article (target id → HTML) that the patch carries. */
  function patchRows(article, rows) {
    var trs = article.querySelectorAll('tr[data-target]');
    for (var i = 0; i < trs.length; i++) {
      var id = trs[i].getAttribute('data-target');
      if (Object.prototype.hasOwnProperty.call(rows, id)) trs[i].replaceWith(element('<table><tbody>' + rows[id] + '</tbody></table>').querySelector('tr'));
    }
  }
  /** Applies a patch: changed parts, changed record sets (whole, or the rows of their targets that changed), and their new order. */
  function patch(p) {
    var name, el;
    for (name in p.parts) {
      el = live.querySelector('[data-part="' + name + '"]');
      if (el) el.replaceWith(element(p.parts[name]));
    }
    var sets = document.getElementById('sets');
    if (!sets) return;
    var have = {};
    var children = sets.children;
    for (var i = 0; i < children.length; i++) have[children[i].getAttribute('data-record-set')] = children[i];
    for (var key in p.sets) {
      el = element(p.sets[key]);
      if (have[key]) have[key].replaceWith(el);
      have[key] = el;
    }
    for (key in p.rows || {}) if (have[key]) patchRows(have[key], p.rows[key]);
    if (p.order) {
      var list = [];
      for (var j = 0; j < p.order.length; j++) if (have[p.order[j]]) list.push(have[p.order[j]]);
      sets.replaceChildren.apply(sets, list);
    }
  }
  function connect() {
    if (source) source.close();
    source = new EventSource('/ui/events' + location.search);
    source.addEventListener('update', function (e) {
      live.innerHTML = e.data;
      lastUpdate = Date.now();
      refreshTimes();
      heard();
    });
    source.addEventListener('patch', function (e) {
      patch(JSON.parse(e.data));
      lastUpdate = Date.now();
      refreshTimes();
      heard();
    });
    source.addEventListener('ping', heard);
    source.onerror = function () {
      down('connection lost');
      // CLOSED: the daemon answered but refused the stream; EventSource gives up, so we retry.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    };
  }
  /** Another view (filter, search, page): the address changes and the stream follows it; its first event is the whole view. */
  function go(href) {
    if (href === location.pathname + location.search) return;
    history.pushState(null, '', href);
    connect();
  }
  live.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[data-nav]');
    if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    go(a.getAttribute('href'));
  });
  if (search) {
    search.addEventListener('input', function () {
      clearTimeout(typing);
      typing = setTimeout(function () {
        var q = new URLSearchParams(location.search);
        var name = search.value.trim();
        if (name) q.set('name', name);
        else q.delete('name');
        q.delete('page');
        var s = q.toString();
        go(s ? '/?' + s : '/');
      }, 250);
    });
  }
  window.addEventListener('popstate', function () {
    if (search) search.value = new URLSearchParams(location.search).get('name') || '';
    connect();
  });
  setInterval(function () {
    if (Date.now() - lastHeard > SILENCE_MS) {
      down('no word for ' + Math.round((Date.now() - lastHeard) / 1000) + ' s');
      lastHeard = Date.now();
      connect();
    }
    refreshTimes();
    show();
  }, 1000);
  connect();
})();
