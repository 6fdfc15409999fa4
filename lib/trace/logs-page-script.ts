/**
 * The logs page's script (GET /logs/ui), as a string the page inlines under its CSP nonce. It
 * reads /logs with the key from the page's meta tags and renders each trace with textContent
 * only, never as HTML.
 */
export const LOGS_PAGE_SCRIPT = `
(function () {
  'use strict';
  function meta(name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.getAttribute('content') || '' : ''; }
  var keyHeader = meta('elf-key-header');
  var key = meta('elf-key');
  var url = new URL(location.href);
  if (url.searchParams.has('key')) {
    if (!key) key = url.searchParams.get('key') || '';
    url.searchParams.delete('key');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  var base = location.pathname.replace(/\\/+$/, '').replace(/\\/ui$/, '');
  var $ = function (id) { return document.getElementById(id); };
  var fields = { config_id: $('f-config'), trace_id: $('f-trace'), provider: $('f-provider'), status: $('f-status') };
  var rowsEl = $('rows'), detailEl = $('detail'), mainEl = $('main'), messageEl = $('message'), moreBtn = $('more');
  var traces = [], selected = null, timer = null, loading = false, nextBefore = null;

  /* Builds an element; string children become text nodes (never HTML). */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] === undefined || attrs[k] === null) continue;
      if (k === 'text') node.textContent = String(attrs[k]);
      else if (k === 'className') node.className = attrs[k];
      else node.setAttribute(k, String(attrs[k]));
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === undefined || c === null || c === false) continue;
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function fmtMs(ms) {
    if (typeof ms !== 'number') return '\\u2014';
    return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(2) + ' s';
  }
  function fmtCost(c) {
    if (typeof c !== 'number') return '\\u2014';
    if (c === 0) return '$0';
    if (c >= 0.01) return '$' + c.toFixed(4);
    return '$' + c.toFixed(8).replace(/0+$/, '');
  }
  function fmtTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    var t = d.toLocaleTimeString([], { hour12: false });
    return d.toDateString() === new Date().toDateString() ? t : d.toLocaleDateString() + ' ' + t;
  }
  function fmtTokens(u) {
    if (!u) return '\\u2014';
    return u.promptTokens + ' / ' + u.completionTokens;
  }
  function statusBadge(status) {
    var cls = status >= 200 && status < 300 ? 'b-ok' : status >= 500 || status === 408 ? 'b-bad' : 'b-warn';
    return el('span', { className: 'badge ' + cls, text: String(status) });
  }
  function outcomeOf(a) {
    if (a.skipped) return 'skipped';
    if (a.served) return 'served';
    if (typeof a.status === 'number' && (a.status < 200 || a.status >= 300)) return 'failed';
    return 'ok';
  }
  function setMessage(text) { messageEl.textContent = text || ''; }

  function filtersQuery() {
    var q = new URLSearchParams();
    for (var name in fields) { var v = fields[name].value.trim(); if (v) q.set(name, v); }
    return q;
  }
  function saveHash() {
    var q = filtersQuery();
    history.replaceState(null, '', location.pathname + location.search + (q.toString() ? '#' + q.toString() : ''));
  }
  function loadHash() {
    var q = new URLSearchParams(location.hash.slice(1));
    for (var name in fields) fields[name].value = q.get(name) || '';
  }

  function api(query) {
    var headers = { accept: 'application/json' };
    if (key) headers[keyHeader] = key;
    return fetch(base + (query ? '?' + query : ''), { headers: headers, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (res.ok) return body;
          var msg = body && body.error && body.error.message ? body.error.message : 'HTTP ' + res.status;
          if (res.status === 401) msg = 'The gateway key was refused (' + keyHeader + '). Reopen this page with a valid key.';
          throw new Error(msg);
        });
      });
  }

  function load(append) {
    if (loading) return;
    loading = true;
    var q = filtersQuery();
    q.set('limit', '50');
    /* The answer's cursor (next_before) when it gave one; else the oldest trace shown. */
    if (append && nextBefore !== null) q.set('before', String(nextBefore));
    else if (append && traces.length) q.set('before', traces[traces.length - 1].startedAt);
    api(q.toString()).then(function (body) {
      var data = Array.isArray(body.data) ? body.data : [];
      if (append) {
        var have = {};
        traces.forEach(function (t) { have[t.requestId] = true; });
        traces = traces.concat(data.filter(function (t) { return !have[t.requestId]; }));
      } else traces = data;
      setMessage('');
      var more = typeof body.has_more === 'boolean' ? body.has_more : data.length >= 50;
      nextBefore = more && (typeof body.next_before === 'number' || typeof body.next_before === 'string') ? body.next_before : null;
      moreBtn.hidden = !more;
      renderList();
      var keep = selected && traces.filter(function (t) { return t.requestId === selected; })[0];
      if (keep) renderDetail(keep);
      else if (fields.trace_id.value.trim() && traces.length) select(traces[0]);
      else if (!append) closeDetail();
    }).catch(function (err) {
      setMessage(err.message || String(err));
    }).then(function () { loading = false; });
  }

  function renderList() {
    rowsEl.textContent = '';
    $('summary').textContent = traces.length + (traces.length === 1 ? ' trace' : ' traces');
    if (!traces.length) {
      rowsEl.appendChild(el('tr', null, el('td', { colspan: 10, className: 'empty', text: 'No traces match these filters yet.' })));
      return;
    }
    traces.forEach(function (t) {
      var failed = t.attempts.filter(function (a) { return outcomeOf(a) === 'failed'; }).length;
      var served = t.provider ? t.provider + (t.model ? ' / ' + t.model : '') : '\\u2014';
      var row = el('tr', { 'data-testid': 'trace-row', 'data-trace-id': t.traceId, tabindex: 0, className: t.requestId === selected ? 'selected' : '' },
        el('td', { title: t.startedAt, text: fmtTime(t.startedAt) }),
        el('td', { className: 'mono clip', title: t.traceId, text: t.traceId }),
        el('td', { className: 'mono clip', title: t.configId, text: t.configId }),
        el('td', { text: t.endpoint + (t.stream ? ' (stream)' : '') }),
        el('td', null, statusBadge(t.status)),
        el('td', { className: 'clip', title: served, text: served }),
        el('td', { className: 'num', text: t.totals.attempts + (failed ? ' (' + failed + ' failed)' : '') }),
        el('td', { className: 'num', text: fmtMs(t.latencyMs) }),
        el('td', { className: 'num', text: t.totals.totalTokens }),
        el('td', { className: 'num', text: fmtCost(t.totals.costUsd) }));
      row.addEventListener('click', function () { select(t); });
      row.addEventListener('keydown', function (e) { if (e.key === 'Enter') select(t); });
      rowsEl.appendChild(row);
    });
  }

  function select(t) {
    selected = t.requestId;
    renderList();
    renderDetail(t);
  }
  function closeDetail() {
    selected = null;
    detailEl.hidden = true;
    mainEl.classList.remove('with-detail');
    var rows = rowsEl.querySelectorAll('tr.selected');
    for (var i = 0; i < rows.length; i++) rows[i].classList.remove('selected');
  }

  function fact(dl, label, value) {
    dl.appendChild(el('dt', { text: label }));
    dl.appendChild(el('dd', null, value));
  }

  function renderDetail(t) {
    var wasHidden = detailEl.hidden;
    detailEl.textContent = '';
    detailEl.hidden = false;
    mainEl.classList.add('with-detail');
    if (wasHidden && detailEl.scrollIntoView) setTimeout(function () { detailEl.scrollIntoView({ block: 'nearest' }); }, 0);
    var close = el('button', { type: 'button', 'aria-label': 'Close', text: 'Close' });
    close.addEventListener('click', closeDetail);
    detailEl.appendChild(el('div', { className: 'detail-head' }, el('h2', { text: 'Trace' }), statusBadge(t.status), close));
    var dl = el('dl', { className: 'facts' });
    fact(dl, 'Trace ID', el('span', { className: 'mono', 'data-testid': 'detail-trace-id', text: t.traceId }));
    fact(dl, 'Request ID', el('span', { className: 'mono', text: t.requestId }));
    fact(dl, 'Config ID', el('span', { className: 'mono', 'data-testid': 'detail-config-id', text: t.configId }));
    fact(dl, 'Endpoint', t.endpoint + (t.stream ? ' (stream)' : ''));
    fact(dl, 'Started', new Date(t.startedAt).toLocaleString() + ' (' + t.startedAt + ')');
    fact(dl, 'Served by', t.servedPath ? el('span', { 'data-testid': 'detail-served' }, el('span', { className: 'mono', text: t.servedPath }), ' \\u2014 ' + t.provider + (t.model ? ' / ' + t.model : '')) : 'nobody (the request failed)');
    fact(dl, 'Latency', fmtMs(t.latencyMs));
    fact(dl, 'Attempts', String(t.totals.attempts));
    fact(dl, 'Tokens', t.totals.promptTokens + ' prompt + ' + t.totals.completionTokens + ' completion = ' + t.totals.totalTokens);
    fact(dl, 'Cost', el('span', { 'data-testid': 'detail-cost', text: fmtCost(t.totals.costUsd) }));
    detailEl.appendChild(dl);
    if (t.notes && t.notes.length) {
      detailEl.appendChild(el('p', { className: 'notes', 'data-testid': 'detail-notes', text: t.notes.join('; ') }));
    }
    if (t.error) {
      detailEl.appendChild(el('div', { className: 'error-box', 'data-testid': 'detail-error' },
        el('strong', { text: (t.error.code || t.error.type || 'error') + ': ' }), t.error.message));
    }
    detailEl.appendChild(el('h3', { text: 'Attempts, in order' }));
    var body = el('tbody', { 'data-testid': 'attempt-rows' });
    var omitted = typeof t.attemptsOmitted === 'number' && t.attemptsOmitted > 0 ? t.attemptsOmitted : 0;
    var omittedAt = typeof t.attemptsOmittedAt === 'number' ? t.attemptsOmittedAt : t.attempts.length;
    t.attempts.forEach(function (a, i) {
      if (omitted && i === omittedAt) body.appendChild(omittedRow(omitted));
      var outcome = outcomeOf(a);
      var label = outcome === 'served' ? 'SERVED' : outcome === 'failed' ? 'FAILED' : outcome === 'skipped' ? 'SKIPPED' : 'OK';
      var cls = outcome === 'served' || outcome === 'ok' ? 'b-ok' : outcome === 'failed' ? 'b-bad' : 'b-skip';
      var err = a.skipped ? a.skipped : [a.errorClass, a.code].filter(Boolean).join(' \\u00b7 ');
      var row = el('tr', { 'data-testid': 'attempt-row', 'data-outcome': outcome, className: 'attempt-' + outcome },
        el('td', { className: 'num', text: i + 1 + (omitted && i >= omittedAt ? omitted : 0) }),
        el('td', { 'data-field': 'outcome' }, el('span', { className: 'badge ' + cls, text: label })),
        el('td', { className: 'mono', 'data-field': 'path', text: a.path }),
        el('td', { 'data-field': 'provider', text: a.provider }),
        el('td', { className: 'clip', 'data-field': 'model', title: a.model || '', text: a.model || '\\u2014' }),
        el('td', { 'data-field': 'status' }, typeof a.status === 'number' ? statusBadge(a.status) : '\\u2014'),
        el('td', { 'data-field': 'error', text: err || '\\u2014' }),
        el('td', { className: 'num', 'data-field': 'retry', text: a.retry }),
        el('td', { className: 'num', 'data-field': 'latency', text: a.skipped ? '\\u2014' : fmtMs(a.latencyMs) }),
        el('td', { className: 'num', 'data-field': 'ttft', text: typeof a.ttftMs === 'number' ? fmtMs(a.ttftMs) : '\\u2014' }),
        el('td', { className: 'num', 'data-field': 'tokens', text: fmtTokens(a.usage) }),
        el('td', { className: 'num', 'data-field': 'cost', title: a.skipped || typeof a.costUsd === 'number' ? '' : 'no price for this model in options.pricing', text: a.skipped ? '\\u2014' : fmtCost(a.costUsd) }));
      body.appendChild(row);
      if (a.notes && a.notes.length) body.appendChild(el('tr', null, el('td'), el('td', { colspan: 11, className: 'notes', text: a.notes.join('; ') })));
    });
    if (omitted && omittedAt >= t.attempts.length) body.appendChild(omittedRow(omitted));
    if (!t.attempts.length) body.appendChild(el('tr', null, el('td', { colspan: 12, className: 'empty', text: 'No attempt was made: the request was rejected before any provider was called.' })));
    var head = el('tr');
    ['#', 'Result', 'Target', 'Provider', 'Model', 'Status', 'Error / skipped', 'Retry', 'Latency', 'TTFT', 'Tokens (in / out)', 'Cost'].forEach(function (h, i) {
      head.appendChild(el('th', { className: i === 0 || i >= 7 ? 'num' : '', text: h }));
    });
    detailEl.appendChild(el('div', { className: 'pane-inner' }, el('table', null, el('thead', null, head), body)));
    if (t.request !== undefined) detailEl.appendChild(bodyBlock('Request', t.request));
    if (t.response !== undefined) detailEl.appendChild(bodyBlock('Response', t.response));
  }
  function omittedRow(n) {
    return el('tr', { 'data-testid': 'attempts-omitted' }, el('td'), el('td', { colspan: 11, className: 'notes', text: '\u2026 ' + n + (n === 1 ? ' attempt row' : ' attempt rows') + ' omitted (the totals count them) \u2026' }));
  }
  /* A captured body; a truncated one ({ truncated, bytes, preview }) says so and shows its preview. */
  function bodyBlock(label, value) {
    var cut = value && typeof value === 'object' && value.truncated === true && typeof value.preview === 'string';
    var title = cut ? label + ' (truncated: ' + value.bytes + ' bytes of JSON, the first ' + value.preview.length + ' characters shown)' : label;
    return el('details', null, el('summary', { text: title }), el('pre', { className: 'mono', text: cut ? value.preview : JSON.stringify(value, null, 2) }));
  }

  $('filters').addEventListener('submit', function (e) { e.preventDefault(); selected = null; saveHash(); load(false); });
  $('clear').addEventListener('click', function () { for (var n in fields) fields[n].value = ''; selected = null; saveHash(); load(false); });
  $('refresh').addEventListener('click', function () { load(false); });
  moreBtn.addEventListener('click', function () { load(true); });
  $('auto').addEventListener('change', function (e) {
    if (timer) { clearInterval(timer); timer = null; }
    if (e.target.checked) timer = setInterval(function () { load(false); }, 5000);
  });
  window.addEventListener('hashchange', function () { loadHash(); load(false); });
  loadHash();
  load(false);
})();
`;
