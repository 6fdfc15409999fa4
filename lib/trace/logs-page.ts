/**
 * The logs page (GET /logs/ui) and its key form, as strings so the package build bundles them:
 * one HTML document each, inline style and script (allowed by a per-response CSP nonce), no
 * external resource, so it works offline. Every value from a trace is put in the page with
 * `textContent` only, never parsed as HTML.
 */

/** Escapes text for an HTML attribute or text node. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
:root {
  --bg: #f6f7f9; --panel: #fff; --text: #1d232b; --muted: #5f6b7a; --line: #e1e5ea; --accent: #2457c5;
  --ok: #137a3a; --ok-bg: #e3f5e9; --bad: #b42318; --bad-bg: #fde8e6; --warn: #8a5a00; --warn-bg: #fdf1d8;
  --skip: #5f6b7a; --skip-bg: #eceff3; --sel: #eaf0fd;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; color: var(--text); background: var(--bg);
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171c; --panel: #1c2027; --text: #e3e7ed; --muted: #98a3b3; --line: #2c323c; --accent: #7aa2ff;
    --ok: #6fdc97; --ok-bg: #17331f; --bad: #ff8f85; --bad-bg: #3b1b19; --warn: #f3c76b; --warn-bg: #362a12;
    --skip: #a4adba; --skip-bg: #272c34; --sel: #1f2a40; }
}
* { box-sizing: border-box; }
body { margin: 0; }
header { display: flex; align-items: center; gap: 16px; padding: 12px 20px; background: var(--panel); border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; font-weight: 600; }
header .grow { flex: 1; }
#summary { color: var(--muted); }
form.filters { display: flex; flex-wrap: wrap; gap: 10px 14px; align-items: flex-end; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
form.filters label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
input { font: inherit; color: var(--text); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; min-width: 120px; }
input.wide { min-width: 260px; }
input.narrow { min-width: 0; width: 80px; }
button { font: inherit; border: 1px solid var(--line); background: var(--panel); color: var(--text); border-radius: 6px; padding: 6px 12px; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:focus-visible, input:focus-visible, tr:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
#message { padding: 8px 20px; color: var(--bad); min-height: 1em; }
#message:empty { display: none; }
main { display: flex; flex-direction: column; gap: 16px; padding: 12px 20px 40px; }
main.with-detail #list { max-height: 40vh; }
input[type=checkbox] { min-width: 0; margin: 0 4px 0 0; vertical-align: -2px; }
label.check { display: inline-flex; align-items: center; }
section.pane { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; overflow: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: top; }
th { font-size: 12px; font-weight: 600; color: var(--muted); background: var(--panel); position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.clip { max-width: 220px; overflow: hidden; text-overflow: ellipsis; }
tbody.traces tr { cursor: pointer; }
tbody.traces tr:hover { background: var(--sel); }
tbody.traces tr.selected { background: var(--sel); box-shadow: inset 3px 0 0 var(--accent); }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.b-ok { color: var(--ok); background: var(--ok-bg); }
.b-bad { color: var(--bad); background: var(--bad-bg); }
.b-warn { color: var(--warn); background: var(--warn-bg); }
.b-skip { color: var(--skip); background: var(--skip-bg); }
tr.attempt-failed td:first-child { box-shadow: inset 3px 0 0 var(--bad); }
tr.attempt-served td:first-child { box-shadow: inset 3px 0 0 var(--ok); }
tr.attempt-served { background: var(--ok-bg); }
tr.attempt-skipped { color: var(--muted); }
.muted { color: var(--muted); }
.empty { padding: 24px; color: var(--muted); text-align: center; }
.detail-head { display: flex; align-items: center; gap: 10px; padding: 12px 14px; border-bottom: 1px solid var(--line); }
.detail-head h2 { font-size: 15px; margin: 0; flex: 1; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 5px 14px; margin: 0; padding: 12px 14px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
h3 { font-size: 13px; margin: 14px 14px 6px; }
.error-box { margin: 0 14px 10px; padding: 8px 10px; border-radius: 6px; color: var(--bad); background: var(--bad-bg); overflow-wrap: anywhere; }
details { margin: 6px 14px 12px; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow: auto; max-height: 320px; }
.more { padding: 10px; text-align: center; }
.more:has(> button[hidden]) { display: none; }
.notes { font-size: 12px; color: var(--muted); white-space: normal; }
`;

const SCRIPT = `
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
  var traces = [], selected = null, timer = null, loading = false;

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
    if (append && traces.length) q.set('before', traces[traces.length - 1].startedAt);
    api(q.toString()).then(function (body) {
      var data = Array.isArray(body.data) ? body.data : [];
      traces = append ? traces.concat(data) : data;
      setMessage('');
      moreBtn.hidden = data.length < 50;
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
    if (t.error) {
      detailEl.appendChild(el('div', { className: 'error-box', 'data-testid': 'detail-error' },
        el('strong', { text: (t.error.code || t.error.type || 'error') + ': ' }), t.error.message));
    }
    detailEl.appendChild(el('h3', { text: 'Attempts, in order' }));
    var body = el('tbody', { 'data-testid': 'attempt-rows' });
    t.attempts.forEach(function (a, i) {
      var outcome = outcomeOf(a);
      var label = outcome === 'served' ? 'SERVED' : outcome === 'failed' ? 'FAILED' : outcome === 'skipped' ? 'SKIPPED' : 'OK';
      var cls = outcome === 'served' || outcome === 'ok' ? 'b-ok' : outcome === 'failed' ? 'b-bad' : 'b-skip';
      var err = a.skipped ? a.skipped : [a.errorClass, a.code].filter(Boolean).join(' \\u00b7 ');
      var row = el('tr', { 'data-testid': 'attempt-row', 'data-outcome': outcome, className: 'attempt-' + outcome },
        el('td', { className: 'num', text: i + 1 }),
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
    if (!t.attempts.length) body.appendChild(el('tr', null, el('td', { colspan: 12, className: 'empty', text: 'No attempt was made: the request was rejected before any provider was called.' })));
    var head = el('tr');
    ['#', 'Result', 'Target', 'Provider', 'Model', 'Status', 'Error / skipped', 'Retry', 'Latency', 'TTFT', 'Tokens (in / out)', 'Cost'].forEach(function (h, i) {
      head.appendChild(el('th', { className: i === 0 || i >= 7 ? 'num' : '', text: h }));
    });
    detailEl.appendChild(el('div', { className: 'pane-inner' }, el('table', null, el('thead', null, head), body)));
    if (t.request !== undefined) detailEl.appendChild(el('details', null, el('summary', { text: 'Request' }), el('pre', { className: 'mono', text: JSON.stringify(t.request, null, 2) })));
    if (t.response !== undefined) detailEl.appendChild(el('details', null, el('summary', { text: 'Response' }), el('pre', { className: 'mono', text: JSON.stringify(t.response, null, 2) })));
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

/** The logs page. `key` is the gateway key the user gave in the URL or key form, if any. */
export function renderLogsPage(options: { nonce: string; headerPrefix: string; key?: string }): string {
  const nonce = escapeHtml(options.nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<meta name="elf-key-header" content="${escapeHtml(`${options.headerPrefix}api-key`)}">
${options.key !== undefined ? `<meta name="elf-key" content="${escapeHtml(options.key)}">\n` : ''}<title>Logs · express-llm-fallback</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
  <h1>LLM fallback logs</h1>
  <span id="summary"></span>
  <span class="grow"></span>
  <label class="muted check"><input type="checkbox" id="auto">Auto-refresh</label>
  <button type="button" id="refresh">Refresh</button>
</header>
<form class="filters" id="filters" autocomplete="off">
  <label>Config ID <input id="f-config" class="wide mono" data-testid="filter-config-id" placeholder="saved id, or cfg-… of an inline config"></label>
  <label>Trace ID <input id="f-trace" class="wide mono" data-testid="filter-trace-id" placeholder="${escapeHtml(options.headerPrefix)}trace-id"></label>
  <label>Provider <input id="f-provider" data-testid="filter-provider" placeholder="any"></label>
  <label>Status <input id="f-status" class="narrow" data-testid="filter-status" inputmode="numeric" placeholder="any"></label>
  <button type="submit" class="primary" data-testid="apply-filters">Filter</button>
  <button type="button" id="clear">Clear</button>
</form>
<div id="message" role="status" data-testid="message"></div>
<main id="main">
  <section class="pane" id="list">
    <table>
      <thead><tr><th>Started</th><th>Trace ID</th><th>Config ID</th><th>Endpoint</th><th>Status</th><th>Served by</th><th class="num">Attempts</th><th class="num">Latency</th><th class="num">Tokens</th><th class="num">Cost</th></tr></thead>
      <tbody id="rows" class="traces" data-testid="trace-rows"></tbody>
    </table>
    <div class="more"><button type="button" id="more" hidden>Load older</button></div>
  </section>
  <section class="pane" id="detail" data-testid="trace-detail" hidden></section>
</main>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

/** The key form, answered (401) when a browser opens the page without a valid gateway key. */
export function renderKeyForm(options: { nonce: string; headerPrefix: string; rejected: boolean }): string {
  const nonce = escapeHtml(options.nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Logs · express-llm-fallback</title>
<style nonce="${nonce}">${STYLE}
.card { max-width: 420px; margin: 12vh auto; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 24px; }
.card h1 { font-size: 17px; margin: 0 0 8px; }
.card p { color: var(--muted); margin: 0 0 16px; line-height: 1.45; }
.card form { display: flex; gap: 8px; }
.card input { flex: 1; }
.card .bad { color: var(--bad); }
</style>
</head>
<body>
<div class="card">
  <h1>LLM fallback logs</h1>
  <p>Enter the gateway key (the value clients send as <code>${escapeHtml(options.headerPrefix)}api-key</code>).</p>
  ${options.rejected ? '<p class="bad" data-testid="key-rejected">That key was refused.</p>' : ''}
  <form method="post">
    <input type="password" name="key" data-testid="gateway-key" placeholder="gateway key" autocomplete="current-password" required autofocus>
    <button type="submit" class="primary" data-testid="open-logs">Open</button>
  </form>
</div>
</body>
</html>
`;
}
