/**
 * The logs page's script (GET /logs/ui), as a string the page inlines under its CSP nonce. It
 * reads /logs with the key from the page's meta tags and renders each trace with textContent
 * only, never as HTML. Besides the list and one trace's attempts it shows: a summary line over
 * the traces shown (requests, failover rate, p50/p95 latency, cost by provider), a time-range
 * filter (applied here to the traces loaded, older pages loaded until the range is covered), the
 * waits between attempts (so the rows add up to the trace's latency), and unpriced attempts as
 * such (a total that leaves them out is shown as a lower bound).
 */
import { DETAIL_SCRIPT } from './logs-page-detail-script.js';
const LIST_SCRIPT = `
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
  /* Filters sent to GET /logs; the time range is applied here, to the traces loaded. */
  var fields = { config_id: $('f-config'), trace_id: $('f-trace'), provider: $('f-provider'), status: $('f-status') };
  var rangeEl = $('f-range');
  var RANGES = { '15m': 15 * 60000, '1h': 3600000, '24h': 86400000, '7d': 7 * 86400000 };
  var RANGE_NAMES = { '15m': 'the last 15 min', '1h': 'the last hour', '24h': 'the last 24 h', '7d': 'the last 7 days' };
  /* With a time range, older pages are loaded until the range is covered, up to this many traces. */
  var MAX_FOLLOW = 500;
  var rowsEl = $('rows'), detailEl = $('detail'), mainEl = $('main'), messageEl = $('message'), moreBtn = $('more'), statsEl = $('stats');
  var traces = [], selected = null, timer = null, loading = false, nextBefore = null, hasMore = false;

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
    if (typeof ms !== 'number' || isNaN(ms)) return '\\u2014';
    return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(2) + ' s';
  }
  function fmtCost(c) {
    if (typeof c !== 'number') return '\\u2014';
    if (c === 0) return '$0';
    if (c >= 0.01) return '$' + c.toFixed(4);
    return '$' + c.toFixed(8).replace(/0+$/, '');
  }
  /* A total that leaves unpriced attempts out is a lower bound: "≥ $0.0012 (2 unpriced)". */
  function fmtTotalCost(c, unpriced) {
    return unpriced > 0 ? '\\u2265 ' + fmtCost(c) + ' (' + unpriced + ' unpriced)' : fmtCost(c);
  }
  /* The same as nodes that wrap only before the parenthesis. */
  function totalCostNodes(c, unpriced) {
    if (!(unpriced > 0)) return document.createTextNode(fmtCost(c));
    var f = document.createDocumentFragment();
    f.appendChild(el('span', { className: 'nw', text: '\\u2265 ' + fmtCost(c) }));
    f.appendChild(document.createTextNode(' '));
    f.appendChild(el('span', { className: 'nw', text: '(' + unpriced + ' unpriced)' }));
    return f;
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
  /* Usage but no price: the cost is unknown. Older traces have no "unpriced" flag: usage without a cost says the same. */
  function isUnpriced(a) {
    if (a.skipped) return false;
    if (typeof a.unpriced === 'boolean') return a.unpriced;
    return typeof a.costUsd !== 'number' && !!a.usage && (a.usage.promptTokens > 0 || a.usage.completionTokens > 0);
  }
  function unpricedCount(t) {
    if (t.totals && typeof t.totals.unpricedAttempts === 'number') return t.totals.unpricedAttempts;
    return t.attempts.filter(isUnpriced).length;
  }
  function triedCount(t) {
    return t.totals && typeof t.totals.attempts === 'number' ? t.totals.attempts : t.attempts.filter(function (a) { return !a.skipped; }).length;
  }
  /* More than one attempt made, or served by a target other than the first. */
  function isFailover(t) {
    var first = t.attempts.length ? t.attempts[0].path : undefined;
    return triedCount(t) > 1 || (!!t.servedPath && first !== undefined && t.servedPath !== first);
  }
  function hasUsage(t) { return t.attempts.some(function (a) { return !!a.usage; }); }
  function setMessage(text) { messageEl.textContent = text || ''; }

  function rangeMs() { return Object.prototype.hasOwnProperty.call(RANGES, rangeEl.value) ? RANGES[rangeEl.value] : 0; }
  function startOf(t) { return Date.parse(t.startedAt); }
  /* The traces loaded that are in the time range, newest first. */
  function visible() {
    var ms = rangeMs();
    if (!ms) return traces;
    var since = Date.now() - ms;
    return traces.filter(function (t) { return startOf(t) >= since; });
  }
  /* True when every trace of the range is loaded (the oldest loaded one is older than the range). */
  function rangeCovered() {
    var ms = rangeMs();
    return !!ms && traces.length > 0 && startOf(traces[traces.length - 1]) < Date.now() - ms;
  }

  function filtersQuery() {
    var q = new URLSearchParams();
    for (var name in fields) { var v = fields[name].value.trim(); if (v) q.set(name, v); }
    return q;
  }
  function saveHash() {
    var q = filtersQuery();
    if (rangeMs()) q.set('range', rangeEl.value);
    history.replaceState(null, '', location.pathname + location.search + (q.toString() ? '#' + q.toString() : ''));
  }
  function loadHash() {
    var q = new URLSearchParams(location.hash.slice(1));
    for (var name in fields) fields[name].value = q.get(name) || '';
    var r = q.get('range') || '';
    rangeEl.value = Object.prototype.hasOwnProperty.call(RANGES, r) ? r : '';
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
    var ok = false;
    var size = rangeMs() ? 200 : 50;
    var q = filtersQuery();
    q.set('limit', String(size));
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
      hasMore = typeof body.has_more === 'boolean' ? body.has_more : data.length >= size;
      nextBefore = hasMore && (typeof body.next_before === 'number' || typeof body.next_before === 'string') ? body.next_before : null;
      ok = data.length > 0 || !append;
      renderList();
      var keep = selected && traces.filter(function (t) { return t.requestId === selected; })[0];
      if (keep) renderDetail(keep);
      else if (fields.trace_id.value.trim() && traces.length) select(traces[0]);
      else if (!append) closeDetail();
    }).catch(function (err) {
      setMessage(err.message || String(err));
    }).then(function () {
      loading = false;
      /* A time range: load older pages until it is covered. */
      if (ok && rangeMs() && hasMore && !rangeCovered() && traces.length < MAX_FOLLOW) load(true);
    });
  }

  function renderList() {
    var list = visible();
    rowsEl.textContent = '';
    $('summary').textContent = list.length + (list.length === 1 ? ' trace' : ' traces') + (list.length !== traces.length ? ' (of ' + traces.length + ' loaded)' : '');
    moreBtn.hidden = !hasMore || rangeCovered();
    renderStats(list);
    if (!list.length) {
      var why = traces.length && rangeMs() ? 'No trace in ' + RANGE_NAMES[rangeEl.value] + '.' : 'No traces match these filters yet.';
      rowsEl.appendChild(el('tr', null, el('td', { colspan: 10, className: 'empty', text: why })));
      return;
    }
    list.forEach(function (t) {
      var failed = t.attempts.filter(function (a) { return outcomeOf(a) === 'failed'; }).length;
      var served = t.provider ? t.provider + (t.model ? ' / ' + t.model : '') : '\\u2014';
      var unpriced = unpricedCount(t);
      var noUsage = t.stream && !hasUsage(t);
      var row = el('tr', { 'data-testid': 'trace-row', 'data-trace-id': t.traceId, tabindex: 0, className: t.requestId === selected ? 'selected' : '' },
        el('td', { className: 'wrap', title: t.startedAt, text: fmtTime(t.startedAt) }),
        el('td', { className: 'mono', title: t.traceId, text: t.traceId }),
        el('td', { className: 'mono', title: t.configId, text: t.configId }),
        el('td', { text: t.endpoint + (t.stream ? ' (stream)' : '') }),
        el('td', null, statusBadge(t.status)),
        el('td', { className: 'wrap', title: served, text: served }),
        el('td', { className: 'num', text: triedCount(t) + (failed ? ' (' + failed + ' failed)' : '') }),
        el('td', { className: 'num', text: fmtMs(t.latencyMs) }),
        el('td', { className: 'num', 'data-field': 'tokens', title: noUsage ? 'the stream reported no usage' : t.totals.promptTokens + ' prompt / ' + t.totals.completionTokens + ' completion', text: noUsage ? '\\u2014' : t.totals.totalTokens }),
        el('td', { className: 'num wrap' + (unpriced ? ' unpriced' : ''), 'data-field': 'cost', title: unpriced ? 'a lower bound: ' + unpriced + ' attempt(s) had usage but no price in options.pricing' : null }, totalCostNodes(t.totals.costUsd, unpriced)));
      row.addEventListener('click', function () { select(t); });
      row.addEventListener('keydown', function (e) { if (e.key === 'Enter') select(t); });
      rowsEl.appendChild(row);
    });
  }

  /* Nearest-rank percentile of sorted numbers. */
  function percentile(sorted, p) {
    if (!sorted.length) return undefined;
    return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
  }
  /* One line over the traces shown: requests, failover rate, p50/p95 latency, cost by provider. */
  function renderStats(list) {
    statsEl.textContent = '';
    var scope = rangeMs() ? 'in ' + RANGE_NAMES[rangeEl.value] : 'loaded';
    if (!list.length) return;
    var failovers = 0, latencies = [], byProvider = {}, names = [], total = 0, totalUnpriced = 0;
    function add(name, cost, unpriced) {
      if (!byProvider[name]) { byProvider[name] = { cost: 0, unpriced: 0 }; names.push(name); }
      byProvider[name].cost += cost;
      byProvider[name].unpriced += unpriced;
    }
    list.forEach(function (t) {
      if (isFailover(t)) failovers++;
      if (typeof t.latencyMs === 'number') latencies.push(t.latencyMs);
      var rowsCost = 0, rowsUnpriced = 0;
      t.attempts.forEach(function (a) {
        if (a.skipped) return;
        var u = isUnpriced(a) ? 1 : 0;
        var c = typeof a.costUsd === 'number' ? a.costUsd : 0;
        rowsCost += c; rowsUnpriced += u;
        add(a.provider, c, u);
      });
      var cost = typeof t.totals.costUsd === 'number' ? t.totals.costUsd : rowsCost;
      var unpriced = unpricedCount(t);
      /* Attempt rows left out of a long trace: the totals count them, their provider is not known here. */
      if (cost - rowsCost > 1e-10 || unpriced > rowsUnpriced) add('omitted rows', Math.max(0, cost - rowsCost), Math.max(0, unpriced - rowsUnpriced));
      total += cost; totalUnpriced += unpriced;
    });
    latencies.sort(function (a, b) { return a - b; });
    var n = list.length;
    statsEl.appendChild(el('span', { 'data-testid': 'stat-requests' }, el('b', { text: n }), (n === 1 ? ' request ' : ' requests ') + scope));
    statsEl.appendChild(el('span', { 'data-testid': 'stat-failover', title: 'requests with more than one attempt, or served by a target other than the first' },
      'failover ', el('b', { text: Math.round((failovers / n) * 100) + '%' }), ' (' + failovers + ' of ' + n + ')'));
    statsEl.appendChild(el('span', { 'data-testid': 'stat-p50' }, 'p50 ', el('b', { text: fmtMs(percentile(latencies, 50)) })));
    statsEl.appendChild(el('span', { 'data-testid': 'stat-p95' }, 'p95 ', el('b', { text: fmtMs(percentile(latencies, 95)) })));
    names.sort(function (a, b) { return byProvider[b].cost - byProvider[a].cost || (a < b ? -1 : a > b ? 1 : 0); });
    var costEl = el('span', { 'data-testid': 'stat-cost', title: totalUnpriced ? 'attempts with usage but no price in options.pricing are not counted: the sums are lower bounds' : null },
      'cost ', el('b', { text: fmtTotalCost(Math.round(total * 1e10) / 1e10, totalUnpriced) }));
    if (names.length) {
      costEl.appendChild(document.createTextNode(': '));
      names.forEach(function (name, i) {
        var p = byProvider[name];
        costEl.appendChild(el('span', { 'data-testid': 'stat-cost-provider', 'data-provider': name }, (i ? ', ' : '') + name + ' ' + fmtTotalCost(Math.round(p.cost * 1e10) / 1e10, p.unpriced)));
      });
    }
    statsEl.appendChild(costEl);
    if (hasMore && !rangeCovered()) statsEl.appendChild(el('span', { className: 'muted', 'data-testid': 'stat-partial', text: 'older traces not loaded' }));
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

`;

/** The whole script: the list half, then the detail half (one function scope). */
export const LOGS_PAGE_SCRIPT = LIST_SCRIPT + DETAIL_SCRIPT;
