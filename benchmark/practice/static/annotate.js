// sedal annotate: the page. Talks to the app's JSON API with the session token in a header.
"use strict";

const params = new URLSearchParams(location.search);
const TOKEN = params.get("token") || sessionStorage.getItem("sedal_token") || "";
sessionStorage.setItem("sedal_token", TOKEN);
if (params.get("token")) history.replaceState(null, "", "/");

const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4",
                 "#f032e6", "#9a6324", "#469990"];
const state = {
  queue: null, rel: null, classes: [], current: 0, selected: null, undo: [], last: [],
  ws: null, regions: null, adding: false, version: -1, modelVersion: -1,
};
window.sedal = state;  // for tests and the curious

async function api(path, options = {}) {
  options.headers = Object.assign({}, options.headers || {}, {"X-Sedal-Token": TOKEN});
  const r = await fetch(path, options);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function colour(label, alpha) {
  const i = Math.max(0, state.classes.indexOf(label));
  const hex = PALETTE[i % PALETTE.length];
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function setStatus(text) { document.getElementById("status").textContent = text; }

// -- queue -------------------------------------------------------------------------
async function loadQueue() {
  const q = await api("/api/queue");
  state.queue = q;
  state.classes = q.classes;
  state.version = q.version;
  state.modelVersion = q.model_version;
  document.getElementById("strategy").textContent =
    `(${q.strategy}, detector ${q.detector})`;
  document.getElementById("progress").textContent =
    `${q.labelled} / ${q.total} files labelled, ` +
    `${q.labelled_hours.toFixed(2)} / ${q.total_hours.toFixed(2)} h`;
  const tbody = document.querySelector("#queue tbody");
  tbody.replaceChildren();
  for (const row of q.rows) {
    const tr = document.createElement("tr");
    tr.dataset.rel = row.rel;
    if (row.labelled) tr.classList.add("labelled");
    if (row.rel === state.rel) tr.classList.add("current");
    const cells = [row.labelled ? "\u2713" : row.rank, row.rel,
                   row.score === null ? "" : row.score.toFixed(3), row.predicted.join(", ")];
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => openRecording(row.rel));
    tbody.appendChild(tr);
  }
  drawCurve(q.curve);
  renderClasses();
  const busy = q.refitting ? "model refitting\u2026" : `model fitted on ${q.labelled} files`;
  setStatus(q.refit_error ? `refit failed: ${q.refit_error}` : busy);
  return q;
}

function drawCurve(points) {
  const svg = document.getElementById("curve");
  svg.replaceChildren();
  const W = 260, H = 90, pad = 22;
  const ns = "http://www.w3.org/2000/svg";
  const text = (x, y, s) => {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("font-size", "10");
    t.textContent = s; svg.appendChild(t);
  };
  text(4, 11, "cross-validated total IoU vs labelled files");
  const pts = points.filter(p => p.cv_total_iou !== null);
  if (!pts.length) { text(pad, H / 2 + 8, "needs 4 labelled files with events"); return; }
  const xmax = Math.max(...pts.map(p => p.labelled), 1);
  const sx = x => pad + (W - 2 * pad) * x / xmax;
  const sy = y => H - pad + 8 - (H - pad - 12) * y;
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.map(p => `${sx(p.labelled)},${sy(p.cv_total_iou)}`).join(" "));
  line.setAttribute("fill", "none"); line.setAttribute("stroke", "#4363d8");
  line.setAttribute("stroke-width", "2");
  svg.appendChild(line);
  for (const p of pts) {
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", sx(p.labelled)); dot.setAttribute("cy", sy(p.cv_total_iou));
    dot.setAttribute("r", "2.5"); dot.setAttribute("fill", "#4363d8");
    svg.appendChild(dot);
  }
  const last = pts[pts.length - 1];
  text(W - 2 * pad - 10, 24, `${last.cv_total_iou.toFixed(3)} @ ${last.labelled}`);
}

function renderClasses() {
  const div = document.getElementById("classes");
  div.replaceChildren();
  state.classes.forEach((c, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = `${i + 1} ${c}`;
    b.style.background = colour(c, 0.35);
    if (i === state.current) b.classList.add("active");
    b.addEventListener("click", () => chooseClass(i));
    div.appendChild(b);
  });
}

// -- recording view ----------------------------------------------------------------
function snapshot() {
  return state.regions.getRegions().map(r => ({
    start: r.start, end: r.end, label: r.sedalLabel, predicted: r.sedalPredicted,
    confidence: r.sedalConfidence, low: r.sedalLow, high: r.sedalHigh}));
}

// After every change: the state before it goes on the undo stack.
function commit() {
  state.undo.push(state.last);
  if (state.undo.length > 200) state.undo.shift();
  state.last = snapshot();
  saveDraft();
}

// Unsaved edits are kept by the app (labels/.sedal-drafts/) until the recording is saved.
let draftTimer = null;
function saveDraft() {
  clearTimeout(draftTimer);
  const rel = state.rel;
  const events = state.last.map(b => eventJSON(b.start, b.end, b.label, b.low, b.high));
  draftTimer = setTimeout(() => {
    api(`/api/draft?rel=${encodeURIComponent(rel)}`, {
      method: "PUT", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({events})}).catch(err => setStatus(`draft not kept: ${err.message}`));
  }, 300);
}

// An event as the API takes it: the band (Hz) only when the box has one (else the full band).
function eventJSON(onset, offset, label, low, high) {
  const e = {onset, offset, label};
  if (low !== null && low !== undefined && high !== null && high !== undefined) {
    e.low_hz = low; e.high_hz = high;
  }
  return e;
}

function content(box) {
  const band = box.low !== null && box.low !== undefined
    ? ` ${Math.round(box.low)}-${Math.round(box.high)} Hz` : "";
  return box.predicted ? `${box.label} ${box.confidence.toFixed(2)}?` : box.label + band;
}

function addBox(box) {
  state.adding = true;
  const region = state.regions.addRegion({
    start: box.start, end: box.end, content: content(box), drag: true, resize: true,
    color: colour(box.label, box.predicted ? 0.18 : 0.35)});
  state.adding = false;
  region.sedalLabel = box.label;
  region.sedalPredicted = !!box.predicted;
  region.sedalConfidence = box.confidence || 0;
  region.sedalLow = box.low === undefined ? null : box.low;
  region.sedalHigh = box.high === undefined ? null : box.high;
  if (box.predicted && region.element) region.element.style.border = "1px dashed #222";
  return region;
}

function restore(boxes) {
  state.regions.clearRegions();
  state.selected = null;
  for (const b of boxes) addBox(b);
}

function select(region) {
  for (const r of state.regions.getRegions()) {
    if (r.element) r.element.style.outline = r === region ? "2px solid #000" : "";
  }
  state.selected = region;
  const low = document.getElementById("low"), high = document.getElementById("high");
  low.value = region && region.sedalLow !== null ? region.sedalLow : "";
  high.value = region && region.sedalHigh !== null ? region.sedalHigh : "";
}

// -- frequency bands on the spectrogram ----------------------------------------------
const mel = hz => 2595 * Math.log10(1 + hz / 700);
const hz = m => 700 * (Math.pow(10, m / 2595) - 1);

// Where the spectrogram is on the page (null before it is drawn).
function spectroRect() {
  const w = state.spectro && state.spectro.wrapper;
  const r = w ? w.getBoundingClientRect() : null;
  return r && r.height > 0 ? r : null;
}

// The frequency (Hz) at page height y over the spectrogram, and back.
function yToHz(y, r) {
  const f = Math.min(1, Math.max(0, (r.bottom - y) / r.height));
  return hz(f * mel(state.fmax));
}
function hzToY(f, r) { return r.bottom - r.height * mel(f) / mel(state.fmax); }

// Each box with a band shows it as an outlined rectangle over the spectrogram.
function drawBands() {
  const r = spectroRect();
  if (!r || !state.regions) return;
  for (const region of state.regions.getRegions()) {
    const el = region.element;
    if (!el) continue;
    let band = el.querySelector(".sedal-band");
    if (region.sedalLow === null || region.sedalLow === undefined) {
      if (band) band.remove();
      continue;
    }
    if (!band) {
      band = document.createElement("div");
      band.className = "sedal-band";
      Object.assign(band.style, {position: "absolute", left: "0", right: "0",
                                 border: "2px solid #fff", boxSizing: "border-box",
                                 pointerEvents: "none"});
      el.appendChild(band);
    }
    const top = el.getBoundingClientRect().top;
    band.style.top = `${hzToY(region.sedalHigh, r) - top}px`;
    band.style.height = `${hzToY(region.sedalLow, r) - hzToY(region.sedalHigh, r)}px`;
  }
}
window.addEventListener("resize", drawBands);

// Shift + drag up or down on the spectrogram: the selected box's band (drawn again to change
// it; both fields empty: every frequency).
let bandDrag = null;
document.getElementById("wave").addEventListener("pointerdown", e => {
  const r = spectroRect();
  if (!e.shiftKey || !r || e.clientY < r.top || e.clientY > r.bottom) return;
  e.stopPropagation(); e.preventDefault();  // not a new box
  if (!state.selected) { setStatus("select a box first, then shift + drag its band"); return; }
  bandDrag = {region: state.selected, y0: e.clientY, r};
}, true);
document.addEventListener("pointermove", e => {
  if (!bandDrag) return;
  const a = yToHz(bandDrag.y0, bandDrag.r), b = yToHz(e.clientY, bandDrag.r);
  bandDrag.region.sedalLow = Math.min(a, b); bandDrag.region.sedalHigh = Math.max(a, b);
  drawBands();
}, true);
document.addEventListener("pointerup", e => {
  if (!bandDrag) return;
  const {region, y0, r} = bandDrag;
  bandDrag = null;
  const a = Math.round(yToHz(y0, r)), b = Math.round(yToHz(e.clientY, r));
  if (Math.abs(a - b) < 1) { setStatus("drag up or down to give the box a band"); return; }
  document.getElementById("low").value = Math.min(a, b);
  document.getElementById("high").value = Math.max(a, b);
  setBand();
}, true);

// The selected box's frequency band, from the two inputs (both empty: the full band).
function setBand() {
  const region = state.selected;
  if (!region) return;
  const low = document.getElementById("low").value, high = document.getElementById("high").value;
  if (low === "" && high === "") { region.sedalLow = region.sedalHigh = null; }
  else if (low !== "" && high !== "" && Number(low) < Number(high)) {
    region.sedalLow = Number(low); region.sedalHigh = Number(high);
  } else { setStatus("a band needs a low and a higher high frequency (Hz)"); return; }
  region.setOptions({content: content({label: region.sedalLabel, low: region.sedalLow,
                                       high: region.sedalHigh})});
  commit();
  drawBands();
}

function relabel(region, label) {
  region.sedalLabel = label;
  region.sedalPredicted = false;
  region.setOptions({content: content({label, low: region.sedalLow, high: region.sedalHigh}),
                     color: colour(label, 0.35)});
  if (region.element) region.element.style.border = "";
  commit();
}

async function openRecording(rel) {
  const v = await api(`/api/recording?rel=${encodeURIComponent(rel)}`);
  state.rel = rel;
  state.undo = [];
  state.selected = null;
  document.getElementById("title").textContent = `${rel} (${v.duration.toFixed(2)} s)`;
  for (const tr of document.querySelectorAll("#queue tbody tr")) {
    tr.classList.toggle("current", tr.dataset.rel === rel);
  }
  if (state.ws) state.ws.destroy();
  const regions = WaveSurfer.Regions.create();
  // the spectrogram's frequency axis is mel-scaled from 0 Hz to fmax (as drawBands assumes)
  const spectro = WaveSurfer.Spectrogram.create({
    labels: true, height: 200, scale: "mel", frequencyMin: 0,
    frequencyMax: Math.min(8000, v.sr / 2), fftSamples: 512, colorMap: window.MAGMA});
  const ws = WaveSurfer.create({
    container: "#wave", height: 80, waveColor: "#8aa", progressColor: "#355",
    cursorColor: "#d00", cursorWidth: 2, sampleRate: v.sr,
    url: `/api/audio?rel=${encodeURIComponent(rel)}`,
    plugins: [
      regions,
      WaveSurfer.Timeline.create({container: "#timeline"}),
      spectro,
    ],
  });
  state.ws = ws;
  state.spectro = spectro;
  state.fmax = Math.min(8000, v.sr / 2);
  state.regions = regions;
  ws.on("timeupdate", t => {
    document.getElementById("cursor").textContent = `${t.toFixed(2)} s`;
  });
  ws.on("decode", () => {
    const boxes = v.draft !== null
      ? v.draft.map(e => ({start: e.onset, end: e.offset, label: e.label, low: e.low_hz,
                           high: e.high_hz}))
      : v.labels !== null
      ? v.labels.map(e => ({start: e.onset, end: e.offset, label: e.label, low: e.low_hz,
                            high: e.high_hz}))
      : v.predicted.map(e => ({start: e.onset, end: e.offset, label: e.label,
                               predicted: true, confidence: e.confidence}));
    if (v.draft !== null) setStatus("restored unsaved edits of this recording");
    restore(boxes);
    state.last = snapshot();
    state.ready = true;
    setTimeout(drawBands, 50);
  });
  state.ready = false;
  regions.enableDragSelection({color: "rgba(0, 0, 0, 0.2)"});
  regions.on("region-created", region => {
    if (state.adding) return;  // drawn by the person
    region.sedalLabel = state.classes[state.current];
    region.sedalPredicted = false;
    region.sedalLow = region.sedalHigh = null;
    region.setOptions({content: region.sedalLabel,
                       color: colour(region.sedalLabel, 0.35)});
    select(region);
    commit();
  });
  regions.on("region-updated", region => { select(region); commit(); drawBands(); });
  regions.on("region-clicked", (region, e) => { e.stopPropagation(); select(region); });
}

function chooseClass(i) {
  if (i < 0 || i >= state.classes.length) return;
  state.current = i;
  renderClasses();
  if (state.selected) relabel(state.selected, state.classes[i]);
}

function deleteSelected() {
  if (!state.selected) return;
  state.selected.remove();
  state.selected = null;
  commit();
}

function undo() {
  const prev = state.undo.pop();
  if (prev) { restore(prev); state.last = snapshot(); drawBands(); }
}

async function saveAndNext() {
  if (!state.rel || !state.regions) return;
  clearTimeout(draftTimer);
  const events = state.regions.getRegions()
    .map(r => eventJSON(r.start, r.end, r.sedalLabel, r.sedalLow, r.sedalHigh))
    .sort((a, b) => a.onset - b.onset);
  try {
    const res = await api(`/api/labels?rel=${encodeURIComponent(state.rel)}`, {
      method: "PUT", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({events})});
    setStatus(`saved ${res.saved} (${res.events} events); model refitting\u2026`);
  } catch (err) {
    setStatus(`not saved: ${err.message}`);
    return;
  }
  const q = await loadQueue();
  const next = q.rows.find(r => !r.labelled);
  if (next) await openRecording(next.rel);
}

async function exportAll() {
  try {
    const res = await api("/api/export", {method: "POST"});
    setStatus(`wrote ${res.labels}` + (res.model ? ` and ${res.model}` : ""));
  } catch (err) {
    setStatus(`export failed: ${err.message}`);
  }
}

document.addEventListener("keydown", e => {
  if (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA") return;
  if (e.key === " ") { e.preventDefault(); if (state.ws) state.ws.playPause(); }
  else if (e.key >= "1" && e.key <= "9") chooseClass(Number(e.key) - 1);
  else if (e.key === "Delete" || e.key === "Backspace") { e.preventDefault(); deleteSelected(); }
  else if (e.key === "Enter") { e.preventDefault(); saveAndNext(); }
  else if (e.key === "z" && !e.ctrlKey && !e.metaKey) undo();
});
document.getElementById("play").addEventListener("click", () => state.ws && state.ws.playPause());
document.getElementById("delete").addEventListener("click", deleteSelected);
document.getElementById("undo").addEventListener("click", undo);
document.getElementById("save").addEventListener("click", saveAndNext);
document.getElementById("export").addEventListener("click", exportAll);
document.getElementById("low").addEventListener("change", setBand);
document.getElementById("high").addEventListener("change", setBand);

// Poll while the model refits, so the queue re-ranks on its own.
setInterval(async () => {
  if (!state.queue) return;
  try {
    const q = await api("/api/status");
    if (q.model_version !== state.modelVersion || q.refitting !== state.queue.refitting) {
      await loadQueue();
    }
  } catch (err) { setStatus(err.message); }
}, 1000);

loadQueue().then(q => {
  const first = q.rows.find(r => !r.labelled) || q.rows[0];
  if (first) return openRecording(first.rel);
}).catch(err => setStatus(err.message));
