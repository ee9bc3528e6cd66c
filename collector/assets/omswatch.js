// The Servers page's only script. Without it the page is complete, just not live.
// With it: the live part is fetched again (GET page/live, server-rendered HTML, the same
// template as the first paint) and swapped in place, never more often than the period the
// page names; a failed fetch keeps the last data, dims it and says since when the collector
// is unreachable; times are shown in the browser's local time; commands get a Copy button;
// a restart's Confirm says it is waiting.
(function () {
  'use strict';

  var root = document.documentElement;
  root.classList.add('js');

  var period = Number(document.body.getAttribute('data-refresh-ms')) || 5000;
  var timeout = Math.max(1000, period - 1000);
  var text = document.getElementById('refresh-text');
  var banner = document.getElementById('banner');
  var lastOk = new Date();
  var failingSince = null;

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  function clock(d) {
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  // <time datetime="…" data-local>: local time, the UTC text kept as its tooltip.
  function localize(scope) {
    var times = scope.querySelectorAll('time[data-local]');
    var today = new Date().toDateString();
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      var d = new Date(t.getAttribute('datetime'));
      if (isNaN(d.getTime())) { continue; }
      if (!t.title) { t.title = t.textContent; }
      t.textContent = d.toDateString() === today
        ? clock(d)
        : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ' ' + clock(d);
    }
  }

  function say(message) {
    if (text) { text.textContent = message; }
  }

  function showBanner(message, link) {
    if (!banner) { return; }
    banner.textContent = message;
    if (link) {
      var a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      banner.appendChild(document.createTextNode(' '));
      banner.appendChild(a);
    }
    banner.hidden = false;
  }

  // Keep what the operator is selecting (a command to copy) until they are done.
  function selecting(live) {
    var s = window.getSelection && window.getSelection();
    return !!(s && !s.isCollapsed && s.anchorNode && live.contains(s.anchorNode));
  }

  function swap(html) {
    var live = document.getElementById('live');
    if (!live || selecting(live)) { return false; }
    var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('live');
    if (!fresh) { throw new Error('the answer holds no live part'); }
    localize(fresh);
    live.replaceWith(document.adoptNode(fresh));
    if (fresh.getAttribute('data-title')) { document.title = fresh.getAttribute('data-title'); }
    return true;
  }

  function succeeded(swapped) {
    failingSince = null;
    document.body.classList.remove('stale');
    if (banner) { banner.hidden = true; }
    if (!swapped) {
      say('Paused while you select text · updated ' + clock(lastOk));
      return;
    }
    lastOk = new Date();
    say('Live · updated ' + clock(lastOk) + ' · every ' + Math.round(period / 1000) + ' s');
  }

  function failed(reason) {
    document.body.classList.add('stale');
    if (reason === 'signed-out') {
      say('Signed out · showing the data of ' + clock(lastOk));
      showBanner('Your session has ended: the data below stopped at ' + clock(lastOk) + '.',
        { href: 'sign-in', text: 'Sign in again' });
      return;
    }
    if (!failingSince) { failingSince = new Date(); }
    say('Unreachable · showing the data of ' + clock(lastOk));
    showBanner('Collector unreachable since ' + clock(failingSince) + ' (' + reason +
      '). Showing the data of ' + clock(lastOk) + '; retrying every ' +
      Math.round(period / 1000) + ' s.');
  }

  function refresh() {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) { controller.abort(); } }, timeout);
    var signedOut = false;
    fetch('page/live', {
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
      headers: { 'Accept': 'text/html' },
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        signedOut = true;
        throw new Error('signed out');
      }
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.text();
    }).then(function (html) {
      succeeded(swap(html));
    }).catch(function (error) {
      var reason = error && error.name === 'AbortError' ? 'no answer' : 'no connection';
      if (error && /^HTTP /.test(error.message)) { reason = error.message; }
      failed(signedOut ? 'signed-out' : reason);
    }).then(function () {
      clearTimeout(timer);
      if (!signedOut) { setTimeout(refresh, period); }
    });
  }

  // Copy buttons: the command's text to the clipboard, or selected when that is refused.
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('button.copy') : null;
    if (!button) { return; }
    var command = button.getAttribute('data-copy') || '';
    var done = function () {
      button.classList.add('copied');
      button.textContent = 'Copied';
      setTimeout(function () { button.classList.remove('copied'); button.textContent = 'Copy'; }, 1500);
    };
    var select = function () {
      var code = button.parentNode && button.parentNode.querySelector('code');
      if (!code) { return; }
      var range = document.createRange();
      range.selectNodeContents(code);
      var s = window.getSelection();
      s.removeAllRanges();
      s.addRange(range);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(command).then(done, select);
    } else {
      select();
    }
  });

  // The restart's Confirm (its own page, which loads this script too): the answer comes once
  // the program is RUNNING, up to 30 s later; say so, and keep it from being sent twice.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains('restart-form-confirm')) { return; }
    var button = form.querySelector('button[type=submit]');
    if (button) {
      button.disabled = true;
      button.textContent = 'Restarting… (the answer comes within 30 s)';
    }
  });

  localize(document);
  if (document.getElementById('live')) {
    say('Live · updated ' + clock(lastOk) + ' · every ' + Math.round(period / 1000) + ' s');
    setTimeout(refresh, period);
  }
}());
