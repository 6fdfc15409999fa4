/**
 * The second half of the logs page's script: one trace's detail (its facts, its attempts in the
 * order they started, the waits between them, its bodies) and the page's start-up. Concatenated
 * after the first half (logs-page-script.ts), inside the same function scope.
 */
export const DETAIL_SCRIPT = `
  function fact(dl, label, value) {
    dl.appendChild(el('dt', { text: label }));
    dl.appendChild(el('dd', null, value));
  }

  /*
   * Where the trace's time went, from its rows: each attempt's start and latency, the trace's
   * start and latency. The time between the end of the attempts so far and the next start is a
   * wait (Retry-After, backoff) before a retry, the router's own time before another target; an
   * attempt that starts before the ones so far ended (a hedge) ran in parallel and has none.
   * Before the first and after the last attempt: the router.
   * lead + busy + waited + between + omittedMs + tail = the trace's latency.
   */
  function timeline(t) {
    var tl = { gaps: {}, parallel: {}, lead: 0, tail: 0, waited: 0, between: 0, attempts: 0, busy: 0, omittedMs: 0, ok: false };
    var t0 = startOf(t);
    if (isNaN(t0) || typeof t.latencyMs !== 'number') return tl;
    var omitted = typeof t.attemptsOmitted === 'number' && t.attemptsOmitted > 0;
    var omittedAt = typeof t.attemptsOmittedAt === 'number' ? t.attemptsOmittedAt : t.attempts.length;
    /* In the order they started (a hedge that lost may be recorded after the one that won). */
    var items = [];
    t.attempts.forEach(function (a, i) {
      var s = Date.parse(a.startedAt);
      if (!a.skipped && !isNaN(s) && typeof a.latencyMs === 'number') items.push({ i: i, s: s, e: s + Math.max(0, a.latencyMs) });
    });
    items.sort(function (x, y) { return x.s - y.s || x.i - y.i; });
    var prevEnd = t0, omissionPending = omitted;
    items.forEach(function (it, k) {
      var gap = it.s - prevEnd;
      if (k === 0) tl.lead = Math.max(0, gap);
      else if (omissionPending && it.i >= omittedAt) tl.omittedMs = Math.max(0, gap);
      else if (gap > 0) {
        /* Before a retry of the same target: a Retry-After sleep or a backoff. Else the router moving on. */
        var a = t.attempts[it.i], p = t.attempts[items[k - 1].i];
        var retry = a.retry > 0 && p.path === a.path;
        tl.gaps[it.i] = { ms: gap, retry: retry };
        if (retry) tl.waited += gap; else tl.between += gap;
      }
      else if (gap < 0) tl.parallel[it.i] = true;
      if (it.i >= omittedAt) omissionPending = false;
      tl.attempts += it.e - it.s;
      tl.busy += Math.max(0, it.e - Math.max(it.s, prevEnd));
      prevEnd = Math.max(prevEnd, it.e);
    });
    var first = items.length === 0;
    var tail = t0 + t.latencyMs - prevEnd;
    if (omissionPending && !first) { tl.omittedMs = Math.max(0, tail); tail = 0; }
    tl.tail = Math.max(0, tail);
    tl.ok = !first;
    return tl;
  }
  function latencyBreakdown(tl) {
    var parts = ['attempts ' + fmtMs(tl.attempts)];
    if (tl.attempts - tl.busy > 0) parts.push('\\u2212 ' + fmtMs(tl.attempts - tl.busy) + ' in parallel (hedged)');
    if (tl.waited > 0) parts.push('+ waited ' + fmtMs(tl.waited));
    if (tl.omittedMs > 0) parts.push('+ omitted rows ' + fmtMs(tl.omittedMs));
    parts.push('+ router ' + fmtMs(tl.lead + tl.between + tl.tail));
    return parts.join(' ');
  }

  var DETAIL_COLS = ['c-n', 'c-result', '', 'c-provider', '', 'c-status', '', 'c-retry', 'c-latency', 'c-ttft', 'c-usage', 'c-acost'];

  function renderDetail(t) {
    var wasHidden = detailEl.hidden;
    detailEl.textContent = '';
    detailEl.hidden = false;
    mainEl.classList.add('with-detail');
    if (wasHidden && detailEl.scrollIntoView) setTimeout(function () { detailEl.scrollIntoView({ block: 'nearest' }); }, 0);
    var close = el('button', { type: 'button', 'aria-label': 'Close', text: 'Close' });
    close.addEventListener('click', closeDetail);
    detailEl.appendChild(el('div', { className: 'detail-head' }, el('h2', { text: 'Trace' }), statusBadge(t.status), close));
    var tl = timeline(t);
    var unpriced = unpricedCount(t);
    var dl = el('dl', { className: 'facts' });
    fact(dl, 'Trace ID', el('span', { className: 'mono', 'data-testid': 'detail-trace-id', text: t.traceId }));
    fact(dl, 'Request ID', el('span', { className: 'mono', text: t.requestId }));
    fact(dl, 'Config ID', el('span', { className: 'mono', 'data-testid': 'detail-config-id', text: t.configId }));
    fact(dl, 'Endpoint', t.endpoint + (t.stream ? ' (stream)' : ''));
    fact(dl, 'Started', new Date(t.startedAt).toLocaleString() + ' (' + t.startedAt + ')');
    fact(dl, 'Served by', t.servedPath ? el('span', { 'data-testid': 'detail-served' }, el('span', { className: 'mono', text: t.servedPath }), ' \\u2014 ' + t.provider + (t.model ? ' / ' + t.model : '')) : 'nobody (the request failed)');
    fact(dl, 'Latency', el('span', { 'data-testid': 'detail-latency' }, fmtMs(t.latencyMs), tl.ok ? el('span', { className: 'muted', text: ' = ' + latencyBreakdown(tl) }) : null));
    if (t.stream) {
      var first = t.attempts.filter(function (a) { return a.served && typeof a.ttftMs === 'number'; })[0] || t.attempts.filter(function (a) { return typeof a.ttftMs === 'number'; })[0];
      fact(dl, 'Time to first token', el('span', { 'data-testid': 'detail-ttft', text: first ? fmtMs(first.ttftMs) : '\\u2014' }));
    }
    fact(dl, 'Attempts', String(triedCount(t)));
    fact(dl, 'Tokens', el('span', { 'data-testid': 'detail-tokens', text: t.stream && !hasUsage(t) ? 'not reported by the stream' : t.totals.promptTokens + ' prompt + ' + t.totals.completionTokens + ' completion = ' + t.totals.totalTokens }));
    fact(dl, 'Cost', el('span', { 'data-testid': 'detail-cost', className: unpriced ? 'unpriced' : null, title: unpriced ? 'a lower bound: usage without a price in options.pricing is not counted' : null }, totalCostNodes(t.totals.costUsd, unpriced)));
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
    if (tl.ok && Math.round(tl.lead) >= 1) body.appendChild(routerRow('router, before the first attempt', tl.lead));
    t.attempts.forEach(function (a, i) {
      if (omitted && i === omittedAt) body.appendChild(omittedRow(omitted, tl.omittedMs));
      var gap = tl.gaps[i];
      if (gap && gap.retry) body.appendChild(waitRow(gap.ms, a));
      else if (gap) body.appendChild(routerRow('router, before trying ' + a.path, gap.ms));
      var outcome = outcomeOf(a);
      var label = outcome === 'served' ? 'SERVED' : outcome === 'failed' ? 'FAILED' : outcome === 'skipped' ? 'SKIPPED' : 'OK';
      var cls = outcome === 'served' || outcome === 'ok' ? 'b-ok' : outcome === 'failed' ? 'b-bad' : 'b-skip';
      var err = a.skipped ? a.skipped : [a.errorClass, a.code].filter(Boolean).join(' \\u00b7 ');
      var unpricedA = isUnpriced(a);
      var costText = a.skipped ? '\\u2014' : unpricedA ? 'unpriced' : fmtCost(a.costUsd);
      var costTitle = unpricedA ? 'usage was recorded but options.pricing has no price for this model: cost unknown' : null;
      var streamNoUsage = t.stream && !a.skipped && !a.usage && outcome !== 'failed';
      var row = el('tr', { 'data-testid': 'attempt-row', 'data-outcome': outcome, 'data-parallel': tl.parallel[i] ? 'true' : null, className: 'attempt-' + outcome },
        el('td', { className: 'num', text: i + 1 + (omitted && i >= omittedAt ? omitted : 0) }),
        el('td', { 'data-field': 'outcome' }, el('span', { className: 'badge ' + cls, text: label })),
        el('td', { className: 'mono wrap', 'data-field': 'path', text: a.path }),
        el('td', { className: 'wrap', 'data-field': 'provider', text: a.provider }),
        el('td', { className: 'wrap', 'data-field': 'model', text: a.model || '\\u2014' }),
        el('td', { 'data-field': 'status' }, typeof a.status === 'number' ? statusBadge(a.status) : '\\u2014'),
        el('td', { className: 'wrap', 'data-field': 'error', text: err || '\\u2014' }),
        el('td', { className: 'num', 'data-field': 'retry', text: a.retry }),
        el('td', { className: 'num', 'data-field': 'latency', 'data-ms': a.skipped ? null : a.latencyMs }, a.skipped ? '\\u2014' : fmtMs(a.latencyMs),
          tl.parallel[i] ? el('div', { className: 'parallel', 'data-testid': 'parallel', title: 'started before the attempts above ended (hedged): ran in parallel with them', text: '\\u2225 parallel' }) : null),
        el('td', { className: 'num', 'data-field': 'ttft', text: typeof a.ttftMs === 'number' ? fmtMs(a.ttftMs) : '\\u2014' }),
        el('td', { className: 'num', 'data-field': 'tokens', title: streamNoUsage ? 'the stream reported no usage' : null, text: fmtTokens(a.usage) }),
        el('td', { className: 'num' + (unpricedA ? ' unpriced' : ''), 'data-field': 'cost', title: costTitle, text: costText }));
      body.appendChild(row);
      if (a.notes && a.notes.length) body.appendChild(el('tr', null, el('td'), el('td', { colspan: 11, className: 'notes', text: a.notes.join('; ') })));
    });
    if (omitted && omittedAt >= t.attempts.length) body.appendChild(omittedRow(omitted, tl.omittedMs));
    if (tl.ok && Math.round(tl.tail) >= 1) body.appendChild(routerRow('router, after the last attempt', tl.tail));
    if (!t.attempts.length) body.appendChild(el('tr', null, el('td', { colspan: 12, className: 'empty', text: 'No attempt was made: the request was rejected before any provider was called.' })));
    var head = el('tr');
    ['#', 'Result', 'Target', 'Provider', 'Model', 'Status', 'Error / skipped', 'Retry', 'Latency', 'TTFT', 'Tokens in/out', 'Cost'].forEach(function (h, i) {
      head.appendChild(el('th', { className: i === 0 || i >= 7 ? 'num' : '', title: h, text: h }));
    });
    var cols = el('colgroup');
    DETAIL_COLS.forEach(function (c) { cols.appendChild(el('col', { className: c || null })); });
    var foot = null;
    if (tl.ok) {
      foot = el('tfoot', null, el('tr', { 'data-testid': 'latency-sum' }, el('td'),
        el('td', { colspan: 7, className: 'muted', text: 'Trace latency = ' + latencyBreakdown(tl) }),
        el('td', { className: 'num', 'data-field': 'latency', 'data-ms': t.latencyMs, text: fmtMs(t.latencyMs) }),
        el('td', { colspan: 3 })));
    }
    detailEl.appendChild(el('div', { className: 'pane-inner' }, el('table', null, cols, el('thead', null, head), body, foot)));
    if (t.request !== undefined) detailEl.appendChild(bodyBlock('Request', t.request));
    if (t.response !== undefined) detailEl.appendChild(bodyBlock('Response', t.response));
  }
  /* The time before a retry of the same target: a Retry-After sleep or a backoff. */
  function waitRow(ms, a) {
    var label = 'waited ' + fmtMs(ms) + ' before retry ' + a.retry + ' of ' + a.path + ' (Retry-After or backoff)';
    return el('tr', { 'data-testid': 'wait-row', className: 'wait-row' }, el('td'),
      el('td', { colspan: 7, 'data-field': 'label', title: label, text: label }),
      el('td', { className: 'num', 'data-field': 'latency', 'data-ms': ms, text: fmtMs(ms) }),
      el('td', { colspan: 3 }));
  }
  function routerRow(label, ms) {
    return el('tr', { 'data-testid': 'router-row', className: 'router-row' }, el('td'),
      el('td', { colspan: 7, 'data-field': 'label', title: label, text: label }),
      el('td', { className: 'num', 'data-field': 'latency', 'data-ms': ms, text: fmtMs(ms) }),
      el('td', { colspan: 3 }));
  }
  function omittedRow(n, ms) {
    return el('tr', { 'data-testid': 'attempts-omitted' }, el('td'),
      el('td', { colspan: 7, className: 'notes', text: '\\u2026 ' + n + (n === 1 ? ' attempt row' : ' attempt rows') + ' omitted (the totals count them) \\u2026' }),
      el('td', { className: 'num notes', 'data-field': 'latency', 'data-ms': ms > 0 ? ms : null, text: ms > 0 ? fmtMs(ms) : '' }),
      el('td', { colspan: 3 }));
  }
  /* A captured body; a truncated one ({ truncated, bytes, preview }) says so and shows its preview. */
  function bodyBlock(label, value) {
    var cut = value && typeof value === 'object' && value.truncated === true && typeof value.preview === 'string';
    var title = cut ? label + ' (truncated: ' + value.bytes + ' bytes of JSON, the first ' + value.preview.length + ' characters shown)' : label;
    return el('details', null, el('summary', { text: title }), el('pre', { className: 'mono', text: cut ? value.preview : JSON.stringify(value, null, 2) }));
  }

  $('filters').addEventListener('submit', function (e) { e.preventDefault(); selected = null; saveHash(); load(false); });
  rangeEl.addEventListener('change', function () { saveHash(); renderList(); load(false); });
  $('clear').addEventListener('click', function () { for (var n in fields) fields[n].value = ''; rangeEl.value = ''; selected = null; saveHash(); load(false); });
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
