#include "monitor/StatusPage.h"

namespace mt::monitor {

namespace {

const char* const kPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Micro Tomcat cluster status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.4em; margin: 0 0 .2em; }
  h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
  #meta { color: #666; }
  table { border-collapse: collapse; background: #fff; min-width: 40em; }
  th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; }
  th { background: #f0f0f0; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .badge { display: inline-block; padding: .1em .6em; border-radius: .8em; color: #fff; font-weight: 600; }
  .UP { background: #2e8b57; } .SUSPECT { background: #d9a400; } .DOWN { background: #c0392b; }
  .LEFT { background: #7f8c8d; } .UNKNOWN { background: #95a5a6; }
  .bar { background: #4a78c2; height: .9em; display: inline-block; vertical-align: middle; }
  #error { color: #c0392b; }
  tr.stale td { color: #999; }
  ol#events { background: #fff; border: 1px solid #ddd; padding: .5em 2.5em; max-height: 20em; overflow: auto; }
</style>
</head>
<body>
<h1>Micro Tomcat cluster <span id="cluster"></span></h1>
<div id="meta">as seen by <b id="self">?</b>, updated <span id="updated">never</span> <span id="error"></span></div>
<h2>Nodes</h2>
<table id="nodes"><thead><tr><th>node</th><th>status</th><th>roles</th><th>address</th><th>incarnation</th>
<th>last heartbeat</th><th>uptime</th><th>CPU</th><th>memory</th><th>connections</th><th>requests</th>
<th>req/s</th><th>errors</th></tr></thead><tbody></tbody></table>
<h2>Sessions</h2>
<table id="sessions"><thead><tr><th>context</th><th>store</th><th>active</th><th>created</th><th>expired</th>
<th>created/min</th><th>expired/min</th></tr></thead><tbody></tbody></table>
<h2>Balancer</h2>
<div id="balancer">this node is not a balancer</div>
<h2>Events</h2>
<ol id="events"></ol>
<script>
"use strict";
const previous = {};
function text(v) { return v === undefined || v === null || v === "" ? "\u2013" : String(v); }
function cell(row, value, cls) { const td = row.insertCell(); td.textContent = text(value); if (cls) td.className = cls; return td; }
function bytes(n) { return n === undefined ? undefined : (n / 1048576).toFixed(1) + " MiB"; }
function duration(s) {
  if (s === undefined) return undefined;
  s = Math.floor(s); const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
  return h ? h + "h " + m + "m" : m ? m + "m " + s % 60 + "s" : s + "s";
}
function render(status, now) {
  document.getElementById("cluster").textContent = status.cluster ? "\u201c" + status.cluster + "\u201d" : "(single node)";
  document.getElementById("self").textContent = status.self;
  document.getElementById("updated").textContent = new Date(now).toLocaleTimeString();
  const body = document.querySelector("#nodes tbody");
  body.textContent = "";
  for (const n of status.nodes) {
    const row = body.insertRow();
    row.dataset.node = n.name; row.dataset.status = n.status;
    cell(row, n.name + (n.self ? " (this node)" : ""));
    const badge = document.createElement("span");
    badge.className = "badge " + n.status; badge.textContent = n.status;
    row.insertCell().appendChild(badge);
    cell(row, (n.roles || []).join(", "));
    cell(row, n.address);
    cell(row, n.incarnation, "num");
    cell(row, n.self ? "self" : n.lastHeartbeatAgoMs >= 0 ? (n.lastHeartbeatAgoMs / 1000).toFixed(1) + " s ago" : "never");
    const l = n.local || {};
    // Request rate between two polls, from the node's own counter (peers' figures are fetched in the background).
    const p = previous[n.name];
    let rate = p && p.uptime === l.uptimeSeconds ? p.rate : undefined; // same snapshot as last poll
    if (p && l.requests !== undefined && l.requests >= p.requests && l.uptimeSeconds > p.uptime)
      rate = ((l.requests - p.requests) / (l.uptimeSeconds - p.uptime)).toFixed(1);
    if (l.requests !== undefined && (!p || l.uptimeSeconds !== p.uptime))
      previous[n.name] = { requests: l.requests, uptime: l.uptimeSeconds, rate: rate };
    if (n.freshness === "stale") row.className = "stale";
    cell(row, duration(l.uptimeSeconds), "num");
    cell(row, l.cpuPercent === undefined ? undefined : l.cpuPercent.toFixed(1) + " %", "num");
    cell(row, bytes(l.residentMemoryBytes), "num");
    cell(row, l.openConnections, "num");
    cell(row, l.requests, "num");
    cell(row, rate, "num");
    cell(row, l.errors, "num");
    if (!n.self) row.title = "figures fetched from the node: " + n.freshness +
      (n.figuresAgeMs !== undefined ? ", " + (n.figuresAgeMs / 1000).toFixed(1) + " s old" : "");
  }
  const sessions = document.querySelector("#sessions tbody");
  sessions.textContent = "";
  if (!status.sessions.length) {
    const td = sessions.insertRow().insertCell();
    td.colSpan = 7; td.textContent = "no contexts are mounted on this node";
  }
  for (const s of status.sessions) {
    const row = sessions.insertRow();
    cell(row, s.path); cell(row, s.store);
    if (s.available === false) { cell(row, "store unavailable: " + s.error); continue; }
    cell(row, s.active, "num"); cell(row, s.created, "num"); cell(row, s.expired, "num");
    cell(row, s.createRatePerMinute.toFixed(1), "num"); cell(row, s.expireRatePerMinute.toFixed(1), "num");
  }
  const lb = document.getElementById("balancer");
  if (status.balancer && status.balancer.nodes) {
    const total = status.balancer.nodes.reduce((a, n) => a + n.total, 0) || 1;
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>app node</th><th>selectable</th><th>weight</th><th>in flight</th>" +
      "<th>requests</th><th>share</th><th>errors</th><th>retries</th><th>mean latency</th></tr></thead>";
    const tb = table.createTBody();
    for (const n of status.balancer.nodes) {
      const row = tb.insertRow();
      cell(row, n.name); cell(row, n.selectable ? "yes" : n.ejected ? "ejected" : "no");
      cell(row, n.weight, "num"); cell(row, n.active, "num"); cell(row, n.total, "num");
      const share = row.insertCell(); const bar = document.createElement("span");
      bar.className = "bar"; bar.style.width = (200 * n.total / total) + "px";
      share.appendChild(bar); share.append(" " + (100 * n.total / total).toFixed(0) + " %");
      cell(row, n.errors, "num"); cell(row, n.retries, "num");
      cell(row, n.latency ? n.latency.meanMs.toFixed(2) + " ms" : undefined, "num");
    }
    lb.textContent = "strategy " + status.balancer.strategy;
    lb.appendChild(table);
  }
  const events = document.getElementById("events");
  events.textContent = "";
  for (const e of status.events.items.slice().reverse()) {
    const li = document.createElement("li");
    li.value = e.sequence;
    li.textContent = e.time + "  " + e.node + ": " + e.from + " \u2192 " + e.to + (e.reason ? " (" + e.reason + ")" : "");
    events.appendChild(li);
  }
}
async function poll() {
  try {
    const response = await fetch("/cluster/status", { cache: "no-store", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("HTTP " + response.status);
    render(await response.json(), Date.now());
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "(cannot reach the node: " + e.message + ")";
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
)HTML";

} // namespace

const std::string& StatusPage::html()
{
    static const std::string page(kPage);
    return page;
}

} // namespace mt::monitor
