// The OBS browser-source overlay: listens on /ws/overlay (reconnecting with backoff) and, for
// each alert, shows a banner, plays the kind's sound, then speaks the text when the server says
// so (voice, language, rate and volume come in the hello frame). The access key (?key=) is
// passed on. No external requests.
"use strict";

const KEY = new URLSearchParams(location.search).get("key");
const KINDS = ["low", "restored", "offline", "raid", "custom"];
const banner = document.getElementById("banner");
const bannerText = document.getElementById("banner-text");

let settings = {
  banner_ms: 6000,
  sound_volume: 0.8,
  speech: { voice: null, language: "en-US", rate: 1, volume: 1 },
};

const sounds = {};
for (const kind of KINDS) {
  const audio = new Audio(`/assets/sounds/${kind}.wav`);
  audio.preload = "auto";
  sounds[kind] = audio;
}

let hideTimer = null;
function show(alert) {
  banner.className = `banner kind-${KINDS.includes(alert.type) ? alert.type : "custom"}`;
  banner.dataset.kind = alert.type;
  banner.dataset.id = String(alert.id);
  bannerText.textContent = alert.message;
  // Restart the slide-in even when a banner is already up.
  void banner.offsetWidth;
  banner.classList.add("show");
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => banner.classList.remove("show"), settings.banner_ms);
}

// Resolves when the sound ended (or could not play: speech must not wait on it).
function play(kind) {
  const audio = sounds[kind];
  if (!audio) return Promise.resolve();
  for (const other of Object.values(sounds)) {
    other.pause();
    other.currentTime = 0;
  }
  audio.volume = Math.min(1, Math.max(0, settings.sound_volume));
  return new Promise((resolve) => {
    const done = () => { clearTimeout(fallback); resolve(); };
    const fallback = setTimeout(done, 4000);
    audio.onended = done;
    audio.onerror = done;
    audio.play().catch(done);
  });
}

function speak(text) {
  if (!("speechSynthesis" in window) || !text) return;
  const s = settings.speech || {};
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = s.language || document.documentElement.lang;
  utterance.rate = s.rate || 1;
  utterance.volume = s.volume == null ? 1 : s.volume;
  if (s.voice) {
    const voice = speechSynthesis.getVoices().find((v) => v.name === s.voice);
    if (voice) utterance.voice = voice;
  }
  speechSynthesis.cancel();
  speechSynthesis.speak(utterance);
}

function onAlert(alert) {
  show(alert);
  play(alert.type).then(() => { if (alert.speak) speak(alert.message); });
}

let backoff = 1000;
function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/ws/overlay${KEY ? `?key=${encodeURIComponent(KEY)}` : ""}`;
  const socket = new WebSocket(url);
  socket.onopen = () => {
    backoff = 1000;
    document.body.dataset.state = "connected";
  };
  socket.onmessage = (e) => {
    let message;
    try { message = JSON.parse(e.data); } catch { return; }
    if (message.event === "hello") {
      settings = message.data;
      document.documentElement.lang = settings.speech.language || "en-US";
    } else if (message.event === "alert") {
      onAlert(message.data);
    }
  };
  socket.onclose = () => {
    document.body.dataset.state = "disconnected";
    setTimeout(connect, backoff + Math.random() * 250);
    backoff = Math.min(backoff * 2, 30000);
  };
}

connect();
