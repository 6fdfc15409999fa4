/**
 * The logs page (GET /logs/ui) and its key form, as strings so the package build bundles them:
 * one HTML document each, inline style and script (allowed by a per-response CSP nonce), no
 * external resource, so it works offline. Every value from a trace is put in the page with
 * `textContent` only, never parsed as HTML.
 */

import { LOGS_PAGE_SCRIPT as SCRIPT } from './logs-page-script.js';

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
input, select { font: inherit; color: var(--text); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; min-width: 120px; }
input.wide { min-width: 260px; }
input.narrow { min-width: 0; width: 80px; }
button { font: inherit; border: 1px solid var(--line); background: var(--panel); color: var(--text); border-radius: 6px; padding: 6px 12px; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:focus-visible, input:focus-visible, select:focus-visible, tr:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
#stats { display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 8px 20px; background: var(--panel); border-bottom: 1px solid var(--line); color: var(--muted); font-size: 13px; }
#stats:empty { display: none; }
#stats > span { overflow-wrap: anywhere; }
#stats b { color: var(--text); font-weight: 600; font-variant-numeric: tabular-nums; }
#message { padding: 8px 20px; color: var(--bad); min-height: 1em; }
#message:empty { display: none; }
main { display: flex; flex-direction: column; gap: 16px; padding: 12px 20px 40px; }
main.with-detail #list { max-height: 40vh; }
input[type=checkbox] { min-width: 0; margin: 0 4px 0 0; vertical-align: -2px; }
label.check { display: inline-flex; align-items: center; }
section.pane { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; overflow: auto; }
/* Fixed layout: long values are cut (with their full text as a tooltip) or wrapped, never widen the page. */
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: top; overflow: hidden; text-overflow: ellipsis; }
td.wrap { white-space: normal; overflow-wrap: anywhere; }
col.c-started { width: 92px; } col.c-trace { width: 180px; } col.c-config { width: 130px; } col.c-endpoint { width: 120px; }
col.c-status { width: 68px; } col.c-attempts { width: 105px; } col.c-latency { width: 80px; } col.c-tokens { width: 72px; } col.c-cost { width: 120px; }
col.c-n { width: 36px; } col.c-result { width: 90px; } col.c-provider { width: 100px; } col.c-retry { width: 58px; }
col.c-ttft { width: 72px; } col.c-usage { width: 104px; } col.c-acost { width: 116px; }
th { font-size: 12px; font-weight: 600; color: var(--muted); background: var(--panel); position: sticky; top: 0; white-space: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.unpriced { color: var(--warn); font-weight: 600; }
.nw { white-space: nowrap; }
tr.wait-row td { color: var(--warn); background: var(--warn-bg); font-size: 12.5px; padding-top: 4px; padding-bottom: 4px; }
tr.router-row td { color: var(--muted); font-size: 12px; padding-top: 3px; padding-bottom: 3px; }
tfoot td { font-weight: 600; border-bottom: none; white-space: normal; }
.parallel { color: var(--accent); font-size: 11.5px; font-weight: 600; }
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
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 5px 14px; margin: 0; padding: 12px 14px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
h3 { font-size: 13px; margin: 14px 14px 6px; }
.error-box { margin: 0 14px 10px; padding: 8px 10px; border-radius: 6px; color: var(--bad); background: var(--bad-bg); overflow-wrap: anywhere; }
details { margin: 6px 14px 12px; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow: auto; max-height: 320px; white-space: pre-wrap; overflow-wrap: anywhere; }
.more { padding: 10px; text-align: center; }
.more:has(> button[hidden]) { display: none; }
.notes { font-size: 12px; color: var(--muted); white-space: normal; overflow-wrap: anywhere; }
p.notes { margin: 0 14px 8px; }
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
  <label>Time range <select id="f-range" data-testid="filter-range">
    <option value="">all</option><option value="15m">last 15 min</option><option value="1h">last hour</option><option value="24h">last 24 h</option><option value="7d">last 7 days</option>
  </select></label>
  <button type="submit" class="primary" data-testid="apply-filters">Filter</button>
  <button type="button" id="clear">Clear</button>
</form>
<div id="stats" data-testid="stats"></div>
<div id="message" role="status" data-testid="message"></div>
<main id="main">
  <section class="pane" id="list">
    <table>
      <colgroup><col class="c-started"><col class="c-trace"><col class="c-config"><col class="c-endpoint"><col class="c-status"><col><col class="c-attempts"><col class="c-latency"><col class="c-tokens"><col class="c-cost"></colgroup>
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
