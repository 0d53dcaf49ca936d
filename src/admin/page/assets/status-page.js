// failoverd status page: live updates over Server-Sent Events (/ui/events),
// relative times kept fresh, and a clear "daemon not answering" state.
// Plain script, no library, no build step; the server escapes every value.
'use strict';
(function () {
  var live = document.getElementById('live');
  var conn = document.getElementById('conn');
  if (!live || !conn || typeof EventSource === 'undefined') return;
  /** Pings come every 5 s: this much silence means the daemon is not answering. */
  var SILENCE_MS = 12000;
  var lastHeard = Date.now();
  var lastUpdate = Date.now();
  var downSince = 0;
  var downWhy = '';
  var source = null;

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
  function connect() {
    if (source) source.close();
    source = new EventSource('/ui/events');
    source.addEventListener('update', function (e) {
      live.innerHTML = e.data;
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
