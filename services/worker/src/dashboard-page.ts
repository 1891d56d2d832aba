/**
 * The ops dashboard: one self-contained page (no build step, no external asset) that polls
 * /api/summary every second, streams /api/events (SSE) and unlocks identifiers.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera — operations</title>
<style>
  :root { --bg:#0f1419; --panel:#182028; --ink:#e6edf3; --mute:#8b98a5; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --info:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 20px; border-bottom:1px solid #253040; }
  header h1 { font-size:18px; margin:0; } header .live { color:var(--ok); font-size:12px; }
  main { display:grid; grid-template-columns: repeat(4, 1fr); gap:14px; padding:16px 20px; }
  .panel { background:var(--panel); border-radius:8px; padding:12px 14px; }
  .panel h2 { font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--mute); margin:0 0 8px; }
  .big { font-size:28px; font-weight:600; }
  .wide { grid-column: span 2; } .full { grid-column: 1 / -1; }
  table { width:100%; border-collapse:collapse; font-size:13px; }
  td, th { text-align:left; padding:4px 6px; border-bottom:1px solid #253040; }
  th { color:var(--mute); font-weight:500; }
  button { background:var(--info); color:#0b0f14; border:0; border-radius:4px; padding:3px 10px; cursor:pointer; font-weight:600; }
  #events { max-height:320px; overflow:auto; font-family: ui-monospace, monospace; font-size:12px; white-space:pre; }
  .t-login\\.succeeded { color:var(--ok); } .t-login\\.failed { color:var(--bad); } .t-lockout\\.engaged { color:var(--warn); }
  .legend span { margin-right:12px; font-size:12px; } svg { width:100%; height:160px; }
</style>
</head>
<body>
<header><h1>Tessera</h1><span>operations</span><span class="live" id="status">connecting…</span></header>
<main>
  <div class="panel"><h2>Logins / s (last 10 s)</h2><div class="big" id="rate">–</div></div>
  <div class="panel"><h2>Failure ratio (60 s)</h2><div class="big" id="ratio">–</div></div>
  <div class="panel"><h2>Active lockouts</h2><div class="big" id="lockcount">–</div></div>
  <div class="panel"><h2>Introspections / s</h2><div class="big" id="intro">–</div></div>
  <div class="panel full"><h2>Logins per second by outcome (60 s)</h2>
    <div class="legend"><span style="color:var(--ok)">■ success</span><span style="color:var(--bad)">■ bad credentials</span><span style="color:var(--warn)">■ locked</span><span style="color:var(--mute)">■ other</span></div>
    <svg id="chart" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></div>
  <div class="panel wide"><h2>By dialect (60 s)</h2><table id="dialects"><tr><th>dialect</th><th>success</th><th>failed</th></tr></table></div>
  <div class="panel wide"><h2>Queue and outbox</h2><table id="queue"></table></div>
  <div class="panel wide"><h2>Locked identifiers</h2><table id="lockouts"><tr><th>locked</th><th>until</th><th></th></tr></table></div>
  <div class="panel"><h2>Top failing identifiers</h2><table id="topids"></table></div>
  <div class="panel"><h2>Top failing addresses</h2><table id="topips"></table></div>
  <div class="panel full"><h2>Audit events, live</h2><div id="events"></div></div>
</main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
function rows(table, head, list) { table.innerHTML = head + list.join(''); }
function chart(buckets) {
  const svg = $('chart'); const w = 600 / buckets.length; const max = Math.max(1, ...buckets.map((b) => b.success + b.failed + b.locked + b.other));
  let out = '';
  buckets.forEach((b, i) => { let y = 160;
    for (const [k, color] of [['success', '#3fb950'], ['failed', '#f85149'], ['locked', '#d29922'], ['other', '#8b98a5']]) {
      const h = (b[k] / max) * 150; if (h > 0) { y -= h; out += '<rect x="' + (i * w + 1) + '" y="' + y + '" width="' + (w - 2) + '" height="' + h + '" fill="' + color + '"/>'; } } });
  svg.innerHTML = out;
}
async function unlock(identifier) {
  const r = await fetch('api/unlock', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identifier }) });
  $('status').textContent = r.ok ? 'unlocked ' + identifier : 'unlock failed'; refresh();
}
async function refresh() {
  try {
    const s = await (await fetch('api/summary', { cache: 'no-store' })).json();
    const last10 = s.loginsPerSecond.slice(-10).reduce((n, b) => n + b.success + b.failed + b.locked + b.other, 0) / 10;
    $('rate').textContent = last10.toFixed(1); $('ratio').textContent = (s.failureRatio * 100).toFixed(1) + ' %';
    $('lockcount').textContent = s.lockouts.length; $('intro').textContent = s.introspectionsPerSecond.toFixed(1);
    chart(s.loginsPerSecond);
    rows($('dialects'), '<tr><th>dialect</th><th>success</th><th>failed</th></tr>', Object.entries(s.byDialect).map(([d, v]) => '<tr><td>' + esc(d) + '</td><td>' + v.success + '</td><td>' + v.failed + '</td></tr>'));
    rows($('queue'), '', [...Object.entries(s.queue).map(([k, v]) => '<tr><td>queue ' + esc(k) + '</td><td>' + v + '</td></tr>'), '<tr><td>outbox length</td><td>' + s.outbox.length + '</td></tr>', '<tr><td>outbox lag</td><td>' + s.outbox.lagSeconds.toFixed(1) + ' s</td></tr>']);
    rows($('lockouts'), '<tr><th>locked</th><th>until</th><th></th></tr>', s.lockouts.map((l) => '<tr><td>' + esc(l.username === undefined ? l.identifier : l.username + ' (' + l.identifier + ')') + '</td><td>' + (l.until === null ? 'permanent' : new Date(l.until).toLocaleTimeString()) + '</td><td><button data-id="' + esc(l.identifier) + '" class="unlock">Unlock</button></td></tr>'));
    for (const b of document.querySelectorAll('button.unlock')) b.onclick = () => unlock(b.dataset.id);
    rows($('topids'), '', s.topIdentifiers.map((t) => '<tr><td>' + esc(t.key) + '</td><td>' + t.failures + '</td></tr>'));
    rows($('topips'), '', s.topAddresses.map((t) => '<tr><td>' + esc(t.key) + '</td><td>' + t.failures + '</td></tr>'));
  } catch { $('status').textContent = 'summary unavailable'; }
}
const events = new EventSource('api/events');
events.onopen = () => { $('status').textContent = '● live'; };
events.onerror = () => { $('status').textContent = 'reconnecting…'; };
events.onmessage = (m) => {
  const e = JSON.parse(m.data); const div = document.createElement('div');
  div.className = 'event t-' + e.type; div.dataset.identifier = e.identifier ?? '';
  div.textContent = e.at.slice(11, 19) + '  ' + e.type.padEnd(22) + ' ' + (e.dialect ?? '').padEnd(9) + ' ' + (e.identifier ?? '') + ' ' + (e.outcome ?? '') + ' ' + (e.ip ?? '');
  $('events').prepend(div); while ($('events').children.length > 200) $('events').lastChild.remove();
};
refresh(); setInterval(refresh, 1000);
</script>
</body>
</html>
`;
