// Read-only status page: one fetch of /api/status, then live updates from /api/status/stream.
"use strict";

let latest = null;
let clockSkew = 0; // server clock minus browser clock, seconds

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function formatDuration(secs) {
  secs = Math.max(0, Math.floor(secs));
  const h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
  return h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${s}s`;
}

function render(status) {
  latest = status;
  clockSkew = status.now_unix - Date.now() / 1000;
  document.getElementById("version").textContent = status.version;
  document.getElementById("web").textContent = status.web ? status.web.listening : "–";
  const features = document.getElementById("features");
  features.replaceChildren(...Object.entries(status.features).map(([name, on]) =>
    el("li", "dot " + (on ? "ok" : "offline"), name + (on ? "" : " (not enabled)"))));
  const tasks = document.getElementById("tasks");
  const entries = Object.entries(status.tasks);
  tasks.replaceChildren(...(entries.length ? entries.map(([name, task]) => {
    const cls = task.state === "running" ? "ok" : task.state === "restarting" ? "bad" : "offline";
    const li = el("li", "dot " + cls, `${name}: ${task.state}`);
    if (task.restarts) li.append(el("span", "reason", `${task.restarts} restarts`));
    if (task.last_error) li.title = task.last_error;
    return li;
  }) : [el("li", "dot offline", "none")]));
  tick();
}

function tick() {
  if (!latest) return;
  const now = Date.now() / 1000 + clockSkew;
  document.getElementById("uptime").textContent = formatDuration(now - latest.started_at_unix);
}

function connection(state, text) {
  const c = document.getElementById("connection");
  c.className = "dot " + state;
  c.textContent = text;
}

function connect() {
  const source = new EventSource("/api/status/stream");
  source.addEventListener("status", (e) => {
    connection("ok", "live");
    render(JSON.parse(e.data));
  });
  source.onerror = () => connection("warn", "reconnecting…");
}

fetch("/api/status").then((r) => r.json()).then(render).catch(() => connection("bad", "unreachable"));
connect();
setInterval(tick, 1000);
