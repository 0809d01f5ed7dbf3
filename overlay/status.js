// Read-only status page: /api/status and /api/history once, then live updates from the
// server-sent events of /api/status/stream (status, sample, switch). Texts come localised from
// the page's `strings` block; the access key (?key=) is passed on to every request.
"use strict";

const STRINGS = JSON.parse(document.getElementById("strings").textContent || "{}");
const t = (id) => STRINGS[id] || id;
const KEY = new URLSearchParams(location.search).get("key");
const withKey = (path) => (KEY ? `${path}?key=${encodeURIComponent(KEY)}` : path);
const WINDOW_MS = 30 * 60 * 1000;
const SVG = "http://www.w3.org/2000/svg";

let latest = null;
let receivedAt = 0; // browser clock (ms) when `latest` arrived
let skewMs = 0; // server clock minus browser clock
let chartData = { samples: [], switches: [], low_kbps: null, recover_kbps: null };

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function formatDuration(secs) {
  secs = Math.max(0, Math.floor(secs));
  const h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
  return h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${s}s`;
}

const words = (state) => String(state || "").replace(/_/g, " ");

// The server judges health (`health` in /api/status, Status::health); the page only draws it.
// A level → the dot's class.
function levelClass(level) {
  return { ok: "ok", warn: "warn", bad: "bad", idle: "idle" }[level] || "offline";
}

function health(s) {
  return s.health || {};
}

// ---- health ----

function notConfigured(name) {
  return { name, cls: "offline", state: t("web-not-configured"), reason: "" };
}

function obsHealth(s) {
  if (!s.obs) return notConfigured(t("web-obs"));
  const c = s.obs.connection || {};
  const cls = levelClass(health(s).obs);
  // "OBS 29.0.2 (obs-websocket 5.1.0), compatibility mode", as doctor says it.
  let reason = c.reason || "";
  if (!reason && s.obs.version) {
    reason = `OBS ${s.obs.version}`;
    if (s.obs.websocket_version) reason += ` (obs-websocket ${s.obs.websocket_version})`;
    if (s.obs.compatibility) reason += `, ${t("web-compatibility-mode")}`;
  }
  // The upload alerts in force (obs.upload) first: they are why the dot is yellow.
  const problems = s.obs.upload_problems || [];
  if (problems.length) {
    reason = `${t("web-upload-problems")}: ${problems.map(words).join(", ")}` + (reason ? `\n${reason}` : "");
  }
  return { name: t("web-obs"), cls, state: words(c.state), reason };
}

function ingestHealth(s) {
  const g = s.guard;
  if (!g) return notConfigured(t("web-ingest"));
  const servers = g.servers || [];
  const line = (v) => {
    if (v.state === "live") return `${v.name}: ${v.bitrate_kbps ?? "?"} kbps` + (v.rtt_ms != null ? `, ${v.rtt_ms} ms` : "");
    if (v.state === "no_publisher") return `${v.name}: ${t("web-no-publisher")}`;
    if (v.state === "waiting") return `${v.name}: ${t("web-waiting")}`;
    return `${v.name}: ${v.error || words(v.state)}`;
  };
  const active = servers.find((v) => v.name === g.active_server);
  const cls = levelClass(health(s).ingest);
  const state = g.level ? words(g.level) : active ? active.name : words(g.idle_reason) || "–";
  const reasons = servers.map(line);
  // Kept across restarts (state_dir/guard.json), named by the command that changes each.
  const changed = g.changed_at_runtime || [];
  if (changed.length) reasons.push(`${t("web-changed-at-runtime")}: ${changed.join(", ")}`);
  return { name: t("web-ingest"), cls, state, reason: reasons.join("\n") };
}

function tokenHealth(s) {
  const tw = s.twitch;
  if (!tw) return notConfigured(t("web-twitch-token"));
  const cls = levelClass(health(s).twitch_token);
  const reasons = [];
  if (tw.login) reasons.push(tw.login);
  if (tw.token_error) reasons.push(tw.token_error);
  if (tw.missing_scopes && tw.missing_scopes.length) {
    reasons.push(`${t("web-missing-scopes")}: ${tw.missing_scopes.join(", ")}`);
  }
  if (tw.token_expires_in_secs != null) reasons.push(`⏱ ${formatDuration(tw.token_expires_in_secs)}`);
  return { name: t("web-twitch-token"), cls, state: words(tw.token), reason: reasons.join("\n") };
}

function eventsubHealth(s) {
  const e = s.twitch && s.twitch.eventsub;
  if (!e) return notConfigured(t("web-eventsub"));
  const subs = Object.entries(e.subscriptions || {});
  const cls = levelClass(health(s).eventsub);
  return { name: t("web-eventsub"), cls, state: words(e.state), reason: subs.map(([k, v]) => `${k}: ${v}`).join("\n") };
}

function kickHealth(s) {
  const k = s.kick;
  if (!k) return notConfigured(t("web-kick"));
  const reasons = [`${t("web-kick-reader")}: ${words(k.reader)}`];
  if (k.chat_error) reasons.push(k.chat_error);
  if (k.deliveries != null) reasons.push(`${t("web-kick-deliveries")}: ${k.deliveries} (${t("web-kick-refused")}: ${k.refused ?? 0})`);
  return { name: t("web-kick"), cls: levelClass(health(s).kick), state: words(k.chat), reason: reasons.join("\n") };
}

function discordHealth(s) {
  const d = s.discord;
  if (!d) return notConfigured(t("web-discord"));
  return { name: t("web-discord"), cls: levelClass(health(s).discord), state: words(d.state), reason: d.reason || "" };
}

function units(s) {
  return (s.services && s.services.units) || null;
}

function nginxHealth(s) {
  const all = units(s);
  const unit = all && (all.nginx || Object.values(all).find((u) => /^nginx/.test(u.unit || "")));
  const apply = s.restream && s.restream.last_apply;
  if (!unit && !apply) return notConfigured(t("web-nginx"));
  const cls = levelClass(health(s).nginx);
  const reasons = [];
  if (unit) reasons.push(`${unit.unit || "nginx"}: ${words(unit.state)}${unit.error ? ` (${unit.error})` : ""}`);
  if (apply) {
    const when = apply.at_unix ? new Date(apply.at_unix * 1000).toLocaleString() : "";
    reasons.push(`${apply.ok === false ? "✗" : "✓"} ${when}${apply.error ? ` ${apply.error}` : ""}`);
  }
  return { name: t("web-nginx"), cls, state: unit ? words(unit.state) : apply.ok === false ? "✗" : "✓", reason: reasons.join("\n") };
}

function servicesHealth(s) {
  const all = units(s);
  if (!all || !Object.keys(all).length) return notConfigured(t("web-services"));
  const entries = Object.entries(all);
  const levels = health(s).units || {};
  const cls = levelClass(health(s).services);
  const reason = entries.map(([k, u]) => `${k}: ${words(u.state)}${u.error ? ` (${u.error})` : ""}`).join("\n");
  const up = entries.filter(([k]) => levels[k] === "ok").length;
  return { name: t("web-services"), cls, state: `${up}/${entries.length}`, reason };
}

function powerHealth(s) {
  const p = s.power;
  if (!p) return notConfigured(t("web-power"));
  const cls = levelClass(health(s).power);
  const state = p.reachable === true ? t("web-on") : p.reachable === false ? t("web-off") : "–";
  const checked = p.checked_unix ? new Date(p.checked_unix * 1000).toLocaleTimeString() : "";
  return { name: t("web-power"), cls, state, reason: [p.error, checked].filter(Boolean).join("\n") };
}

function healthItem(h) {
  const li = el("li", `dot ${h.cls}`, h.name);
  li.dataset.component = h.name;
  li.append(el("span", "state", h.state));
  if (h.reason) {
    li.title = h.reason;
    li.classList.add("has-reason");
    li.append(el("span", "reason tap", h.reason));
    li.addEventListener("click", () => li.classList.toggle("open"));
  }
  return li;
}

// ---- rendering ----

function render(status) {
  latest = status;
  receivedAt = Date.now();
  skewMs = status.now_unix * 1000 - receivedAt;
  const s = status;
  const health = [obsHealth, ingestHealth, tokenHealth, eventsubHealth, kickHealth, discordHealth, nginxHealth, servicesHealth, powerHealth];
  const open = new Set([...document.querySelectorAll("#health li.open")].map((li) => li.dataset.component));
  $("health").replaceChildren(...health.map((f) => {
    const li = healthItem(f(s));
    if (open.has(li.dataset.component)) li.classList.add("open");
    return li;
  }));

  const obs = s.obs || {};
  const tw = s.twitch || {};
  $("scene").textContent = obs.scene || "–";
  $("streaming").textContent = s.obs ? `${obs.streaming ? t("web-yes") : t("web-no")} (${words(obs.stream_state)})` : "–";
  $("viewers").textContent = tw.viewers != null ? String(tw.viewers) : "–";
  $("title").textContent = tw.title || "–";
  $("category").textContent = tw.category || "–";
  $("version").textContent = s.version;

  const restream = s.restream && s.restream.endpoints;
  $("restream").replaceChildren(...(restream && restream.length
    ? restream.map((e) => {
      const li = el("li", `dot ${e.enabled ? "ok" : "offline"}`, e.name);
      li.append(el("span", "state", e.enabled ? t("web-on") : t("web-off")));
      return li;
    })
    : [el("li", "dot offline", t("web-restream-none"))]));

  const tasks = Object.entries(s.tasks || {});
  const problems = tasks.filter(([, task]) => task.state !== "running");
  $("tasks").replaceChildren(...(problems.length
    ? problems.map(([name, task]) => {
      const li = el("li", `dot ${task.state === "restarting" ? levelClass(health(s).tasks) : "offline"}`, `${name}: ${words(task.state)}`);
      if (task.last_error) li.title = task.last_error;
      return li;
    })
    : [el("li", "dot ok", `${t("web-all-running")} (${tasks.length})`)]));

  if (s.guard && s.guard.triggers) {
    chartData.low_kbps = s.guard.triggers.low_kbps;
    chartData.recover_kbps = s.guard.triggers.recover_kbps;
  }
  tick();
  redrawSoon();
}

function tick() {
  if (!latest) return;
  const now = Date.now() + skewMs;
  $("uptime").textContent = formatDuration(now / 1000 - latest.started_at_unix);
  const up = latest.obs && latest.obs.stream_uptime_secs;
  $("stream-uptime").textContent = up != null && latest.obs.streaming
    ? formatDuration(up + (Date.now() - receivedAt) / 1000) : "–";
  // The ad break Twitch runs now: time left of its length, counted down here between updates.
  const ad = latest.twitch && latest.twitch.ad_break;
  const left = ad ? ad.started_at + ad.duration_secs - now / 1000 : 0;
  $("ad-break").textContent = ad && left > 0
    ? `${formatDuration(left)} / ${formatDuration(ad.duration_secs)}${ad.automatic ? ` (${t("web-ad-automatic")})` : ""}`
    : "–";
}

// ---- chart (inline SVG) ----

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Runs of samples with a value and no gap longer than 5 s.
function segments(samples, value) {
  const runs = [];
  let run = [];
  let last = null;
  for (const s of samples) {
    const v = value(s);
    if (v == null || (last !== null && s.at_unix_ms - last > 5000)) {
      if (run.length) runs.push(run);
      run = [];
    }
    if (v != null) run.push(s);
    last = s.at_unix_ms;
  }
  if (run.length) runs.push(run);
  return runs;
}

function drawChart() {
  const chart = $("chart");
  const w = Math.max(300, chart.clientWidth || 900), h = Math.max(150, chart.clientHeight || 260);
  chart.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const pad = { l: 44, r: 44, t: 12, b: 22 };
  const now = Date.now() + skewMs, from = now - WINDOW_MS;
  const samples = chartData.samples.filter((s) => s.at_unix_ms >= from);
  const switches = chartData.switches.filter((s) => s.at_unix_ms >= from);
  const low = chartData.low_kbps, recover = chartData.recover_kbps;
  const kbps = samples.map((s) => s.bitrate_kbps || 0);
  const rtts = samples.map((s) => s.rtt_ms || 0);
  const maxKbps = Math.max(1000, (recover || 0) * 1.25, (low || 0) * 1.25, ...kbps) * 1.1;
  const maxRtt = Math.max(100, ...rtts) * 1.1;
  const x = (at) => pad.l + ((at - from) / WINDOW_MS) * (w - pad.l - pad.r);
  const yK = (v) => pad.t + (1 - v / maxKbps) * (h - pad.t - pad.b);
  const yR = (v) => pad.t + (1 - v / maxRtt) * (h - pad.t - pad.b);
  const parts = [];
  for (let i = 0; i <= 3; i++) {
    const at = from + (i * WINDOW_MS) / 3;
    parts.push(svg("line", { class: "grid", x1: x(at), x2: x(at), y1: pad.t, y2: h - pad.b }));
    parts.push(svg("text", { x: x(at), y: h - 6, "text-anchor": i === 0 ? "start" : i === 3 ? "end" : "middle" },
      i === 3 ? "0" : `−${30 - i * 10}m`));
  }
  parts.push(svg("text", { x: 4, y: pad.t + 10 }, `${Math.round(maxKbps)}`));
  parts.push(svg("text", { x: w - 4, y: pad.t + 10, "text-anchor": "end" }, `${Math.round(maxRtt)} ms`));
  for (const [value, cls, label] of [[low, "low", t("web-low-line")], [recover, "recover", t("web-recover-line")]]) {
    if (value == null) continue;
    parts.push(svg("line", { class: `threshold ${cls}`, x1: pad.l, x2: w - pad.r, y1: yK(value), y2: yK(value), "data-kbps": value }));
    parts.push(svg("text", { x: pad.l + 4, y: yK(value) - 3 }, `${label} ${value}`));
  }
  for (const m of switches) {
    const g = svg("g", { class: "switch-mark", "data-scene": m.scene });
    g.append(svg("line", { class: "switch", x1: x(m.at_unix_ms), x2: x(m.at_unix_ms), y1: pad.t, y2: h - pad.b }));
    g.append(svg("text", { x: x(m.at_unix_ms) + 3, y: pad.t + 22 }, m.scene));
    g.append(svg("title", {}, `${m.scene}${m.by ? ` (${m.by})` : ""} ${new Date(m.at_unix_ms - skewMs).toLocaleTimeString()}`));
    parts.push(g);
  }
  for (const run of segments(samples, (s) => s.rtt_ms)) {
    parts.push(svg("polyline", { class: "rtt", points: run.map((s) => `${x(s.at_unix_ms).toFixed(1)},${yR(s.rtt_ms).toFixed(1)}`).join(" ") }));
  }
  for (const run of segments(samples, (s) => s.bitrate_kbps)) {
    parts.push(svg("polyline", { class: "bitrate", points: run.map((s) => `${x(s.at_unix_ms).toFixed(1)},${yK(s.bitrate_kbps).toFixed(1)}`).join(" ") }));
  }
  chart.replaceChildren(...parts);
  $("chart-empty").hidden = samples.some((s) => s.bitrate_kbps != null);
}

function addSample(sample) {
  const last = chartData.samples[chartData.samples.length - 1];
  if (last && Math.floor(last.at_unix_ms / 1000) === Math.floor(sample.at_unix_ms / 1000)) chartData.samples.pop();
  chartData.samples.push(sample);
  const from = sample.at_unix_ms - WINDOW_MS;
  while (chartData.samples.length && chartData.samples[0].at_unix_ms < from) chartData.samples.shift();
}

function addSwitch(mark) {
  const i = chartData.switches.findIndex((m) => m.scene === mark.scene && Math.abs(m.at_unix_ms - mark.at_unix_ms) <= 5000);
  if (i >= 0) chartData.switches[i] = mark;
  else chartData.switches.push(mark);
}

let drawPending = false;
function redrawSoon() {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => { drawPending = false; drawChart(); }, 250);
}

// ---- data ----

function connection(cls, text) {
  const c = $("connection");
  c.className = `dot ${cls}`;
  c.textContent = text;
}

function loadHistory() {
  return fetch(withKey("/api/history"))
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((h) => {
      skewMs = h.now_unix_ms - Date.now();
      chartData = { samples: h.samples || [], switches: h.switches || [], low_kbps: h.low_kbps, recover_kbps: h.recover_kbps };
      drawChart();
    });
}

function connect() {
  const source = new EventSource(withKey("/api/status/stream"));
  let broken = false;
  source.addEventListener("status", (e) => {
    connection("ok", t("web-live-updates"));
    render(JSON.parse(e.data));
  });
  source.addEventListener("sample", (e) => { addSample(JSON.parse(e.data)); redrawSoon(); });
  source.addEventListener("switch", (e) => { addSwitch(JSON.parse(e.data)); redrawSoon(); });
  source.onopen = () => {
    // Fill what was missed while away.
    if (broken) loadHistory().catch(() => {});
    broken = false;
  };
  source.onerror = () => { broken = true; connection("warn", t("web-reconnecting")); };
}

document.getElementById("raw").href = withKey("/api/status");
fetch(withKey("/api/status"))
  .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
  .then(render)
  .catch(() => connection("bad", t("web-unreachable")));
loadHistory().catch(() => {});
connect();
setInterval(tick, 1000);
setInterval(drawChart, 10000);
window.addEventListener("resize", redrawSoon);
