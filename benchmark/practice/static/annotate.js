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
// How recordings are shown and played (kept from one recording to the next).
const view = {fft: 512, scale: "mel", rangeDB: 80, fmaxChoice: 8000, pxPerSec: 0, rate: 1,
              keepPitch: true, loop: false};
state.view = view;
const FMAX_CHOICES = [1000, 2000, 4000, 8000, 11025, 16000, 22050, 24000];

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
    `(${q.strategy}, detector ${q.detector})` + (q.annotator ? `, annotator ${q.annotator}` : "");
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
    if (row.status) tr.dataset.status = row.status;
    const predicted = row.confidence
      ? row.predicted.map((c, i) => `${c} ${row.confidence[i].toFixed(2)}`).join(", ")
      : row.predicted.join(", ");
    const cells = [row.labelled ? "\u2713" : row.rank, row.rel, row.status || "",
                   row.score === null ? "" : row.score.toFixed(3), predicted];
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => openRecording(row.rel));
    tbody.appendChild(tr);
  }
  document.getElementById("order-note").textContent = q.ranked_by_model
    ? "score: the strategy's file score (higher first); predicted: classes some segment is " +
      "decided as, with that segment's probability"
    : "no model yet (it needs labels of two classes): the order is random";
  document.getElementById("counts").textContent = "labelled events: " +
    Object.entries(q.class_counts).map(([c, n]) => `${c} ${n}`).join(", ");
  drawCurve(q.curve);
  renderClasses();
  const busy = q.refitting ? "model refitting\u2026" : `model fitted on ${q.labelled} files`;
  setStatus(q.refit_error ? `refit failed: ${q.refit_error}` : busy);
  return q;
}

function drawCurve(points) {
  const svg = document.getElementById("curve");
  svg.replaceChildren();
  const W = 260, H = 110, left = 34, right = 10, top = 16, bottom = 28;
  const ns = "http://www.w3.org/2000/svg";
  const el = (name, attrs, text) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  el("text", {x: 4, y: 11, "font-size": 10}, "cross-validated total IoU (5 folds)");
  const pts = points.filter(p => p.cv_total_iou !== null);
  const xmax = Math.max(...pts.map(p => p.labelled), 10);
  const sx = x => left + (W - left - right) * x / xmax;
  const sy = y => H - bottom - (H - top - bottom) * y;
  // axes: IoU 0-1 (y), labelled files (x), with ticks and units
  el("line", {x1: left, y1: sy(0), x2: W - right, y2: sy(0), stroke: "#444"});
  el("line", {x1: left, y1: sy(0), x2: left, y2: sy(1), stroke: "#444"});
  for (const y of [0, 0.5, 1]) {
    el("text", {x: left - 4, y: sy(y) + 3, "font-size": 9, "text-anchor": "end"}, y.toFixed(1));
  }
  for (const x of [0, Math.round(xmax / 2), xmax]) {
    el("text", {x: sx(x), y: H - bottom + 11, "font-size": 9, "text-anchor": "middle"}, x);
  }
  el("text", {x: (left + W - right) / 2, y: H - 4, "font-size": 9, "text-anchor": "middle"},
     "labelled files");
  if (!pts.length) {
    el("text", {x: left + 6, y: sy(0.5), "font-size": 9}, "needs 4 labelled files with events");
    return;
  }
  el("polyline", {points: pts.map(p => `${sx(p.labelled)},${sy(p.cv_total_iou)}`).join(" "),
                  fill: "none", stroke: "#4363d8", "stroke-width": 2});
  for (const p of pts) {
    el("circle", {cx: sx(p.labelled), cy: sy(p.cv_total_iou), r: 2.5, fill: "#4363d8"});
  }
  const last = pts[pts.length - 1];
  const noisy = last.labelled < 20;
  el("text", {x: W - right, y: top + 8, "font-size": 9, "text-anchor": "end"},
     `${last.cv_total_iou.toFixed(3)} on ${last.labelled} files` + (noisy ? " (noisy)" : ""));
  document.getElementById("curve-note").textContent = noisy
    ? "fewer than 20 labelled files: each fold holds a handful, so this estimate moves a lot " +
      "from one save to the next; read the trend, not the value"
    : "";
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

// -- viewing: spectrogram settings, frequency range, time zoom, playback speed ---------
function spectrogramOptions() {
  return {labels: true, height: 200, scale: view.scale, frequencyMin: 0,
          frequencyMax: state.fmax, fftSamples: view.fft, rangeDB: view.rangeDB,
          colorMap: window.MAGMA};
}

function rebuildSpectrogram() {
  if (!state.ws) return;
  state.fmax = Math.min(view.fmaxChoice, state.nyquist);
  if (state.spectro) state.spectro.destroy();
  state.spectro = state.ws.registerPlugin(WaveSurfer.Spectrogram.create(spectrogramOptions()));
  renderViewControls();
  setTimeout(drawBands, 300);
}

function renderViewControls() {
  const fmax = document.getElementById("fmax");
  fmax.replaceChildren();
  for (const f of FMAX_CHOICES.filter(f => f <= state.nyquist)) {
    const o = document.createElement("option");
    o.value = f; o.textContent = f >= 1000 ? `${f / 1000} kHz` : `${f} Hz`;
    fmax.appendChild(o);
  }
  fmax.value = String(Math.min(view.fmaxChoice, state.nyquist));
  if (!fmax.value) fmax.value = fmax.options[fmax.options.length - 1].value;
  document.getElementById("fft").value = String(view.fft);
  document.getElementById("scale").value = view.scale;
  document.getElementById("range").value = String(view.rangeDB);
  document.getElementById("speed").value = String(view.rate);
  document.getElementById("pitch").checked = view.keepPitch;
  document.getElementById("loop").classList.toggle("active", view.loop);
  document.getElementById("zoom-level").textContent = view.pxPerSec > 0
    ? `${Math.round(view.pxPerSec)} px/s` : "whole recording";
}

// Frequency zoom: the next smaller (in) or larger (out) top of the frequency axis.
function zoomFrequency(direction) {
  const choices = FMAX_CHOICES.filter(f => f <= state.nyquist);
  const i = choices.indexOf(Math.min(view.fmaxChoice, state.nyquist));
  const j = Math.max(0, Math.min(choices.length - 1, (i < 0 ? choices.length - 1 : i) -
                                  direction));
  if (choices[j] === view.fmaxChoice) return;
  view.fmaxChoice = choices[j];
  rebuildSpectrogram();
}

// Time zoom: pixels per second, from "the whole recording fits" upwards.
function zoomTime(factor) {
  if (!state.ws || !state.duration) return;
  const fit = document.getElementById("wave").clientWidth / state.duration;
  const now = view.pxPerSec > 0 ? view.pxPerSec : fit;
  const next = now * factor;
  view.pxPerSec = next <= fit * 1.01 ? 0 : Math.min(next, 2000);
  state.ws.zoom(view.pxPerSec > 0 ? view.pxPerSec : fit);
  renderViewControls();
}

function setSpeed(rate) {
  view.rate = rate;
  if (state.ws) state.ws.setPlaybackRate(view.rate, view.keepPitch);
  renderViewControls();
}

function seek(seconds) {
  if (!state.ws || !state.duration) return;
  state.ws.setTime(Math.max(0, Math.min(state.duration, state.ws.getCurrentTime() + seconds)));
}

function toggleLoop() {
  view.loop = !view.loop;
  renderViewControls();
  if (view.loop && state.selected) state.selected.play();
  setStatus(view.loop ? (state.selected ? "looping the selected box"
                                        : "loop on: select a box to loop it") : "loop off");
}

// -- clip statuses and moving through the queue ----------------------------------------
async function setClipStatus(status) {
  if (!state.rel) return;
  const row = state.queue.rows.find(r => r.rel === state.rel);
  const now = row ? row.status : null;
  const next = now === status ? null : status;  // the same key again clears it
  try {
    await api(`/api/clip?rel=${encodeURIComponent(state.rel)}`, {
      method: "PUT", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({status: next})});
    setStatus(next ? `marked ${state.rel} as ${next}` : `cleared the status of ${state.rel}`);
  } catch (err) { setStatus(`status not kept: ${err.message}`); return; }
  await loadQueue();
  if (next === "skipped") await openNext();
}

// The first unlabelled, not skipped recording other than the one on screen.
async function openNext() {
  const next = state.queue.rows.find(r => !r.labelled && r.status !== "skipped" &&
                                          r.rel !== state.rel);
  if (next) await openRecording(next.rel);
  else setStatus("no unlabelled recording left (skipped ones are listed in the queue)");
}

// The row after (+1) or before (-1) the one on screen, in the queue's order.
async function openRelative(step) {
  const rows = state.queue.rows;
  const i = rows.findIndex(r => r.rel === state.rel);
  const j = i + step;
  if (j >= 0 && j < rows.length) await openRecording(rows[j].rel);
}

// -- review mode: the model's detections, most confident first ---------------------------
async function toggleReview() {
  const panel = document.getElementById("review-panel");
  if (state.reviewMode) {
    state.reviewMode = false; panel.hidden = true; setStatus("review mode off"); return;
  }
  const r = await api("/api/review");
  state.reviewItems = r.items;
  state.reviewMode = true;
  panel.hidden = false;
  const i = r.items.findIndex(e => !e.decision);
  if (i < 0) { showReviewText(r.items.length ? "every detection shown is reviewed" :
                              "no detections to review (the model needs labels first)"); return; }
  await showReviewItem(i);
}

function showReviewText(text) { document.getElementById("review-item").textContent = text; }

async function showReviewItem(i) {
  const e = state.reviewItems[i];
  state.reviewIndex = i;
  showReviewText(`${i + 1} / ${state.reviewItems.length}: ${e.label} ` +
                 `${e.confidence.toFixed(2)} in ${e.rel}, ${e.onset.toFixed(2)}-` +
                 `${e.offset.toFixed(2)} s (a accept, x reject, 1-9 relabel, v leave)`);
  if (state.rel !== e.rel) {
    await openRecording(e.rel);
    await new Promise(res => {
      const t = setInterval(() => { if (state.ready) { clearInterval(t); res(); } }, 50);
    });
  }
  const region = state.regions.getRegions().find(
    r => Math.abs(r.start - e.onset) < 1e-3 && Math.abs(r.end - e.offset) < 1e-3);
  if (region) select(region);
  state.ws.setTime(e.onset);
}

async function decide(decision, finalLabel) {
  const e = state.reviewItems[state.reviewIndex];
  if (!e) return;
  const body = {rel: e.rel, onset: e.onset, offset: e.offset, label: e.label,
                confidence: e.confidence, decision};
  if (decision === "relabel") body.final_label = finalLabel;
  try {
    const res = await api("/api/review", {
      method: "PUT", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    e.decision = decision; e.final_label = res.decision.final_label;
    setStatus(`${decision}: ${e.label} in ${e.rel} (${res.reviewed} reviewed)`);
  } catch (err) { setStatus(`decision not kept: ${err.message}`); return; }
  const next = state.reviewItems.findIndex((x, j) => j > state.reviewIndex && !x.decision);
  if (next < 0) showReviewText("every detection shown is reviewed");
  else await showReviewItem(next);
}

function toggleShortcuts() {
  const d = document.getElementById("shortcuts");
  if (d.open) d.close(); else d.showModal();
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

// The frequency (Hz) at page height y over the spectrogram, and back (its axis runs from 0 Hz
// to state.fmax, mel-scaled or linear as view.scale says).
function yToHz(y, r) {
  const f = Math.min(1, Math.max(0, (r.bottom - y) / r.height));
  return view.scale === "mel" ? hz(f * mel(state.fmax)) : f * state.fmax;
}
function hzToY(f, r) {
  const g = Math.min(f, state.fmax);
  return r.bottom - r.height * (view.scale === "mel" ? mel(g) / mel(state.fmax) : g / state.fmax);
}

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
      for (const edge of ["high", "low"]) {  // resize handles: drag an edge up or down
        const h = document.createElement("div");
        h.className = "sedal-band-edge";
        h.dataset.edge = edge;
        h.title = `drag to move the band's ${edge} frequency`;
        Object.assign(h.style, {position: "absolute", left: "0", right: "0", height: "8px",
                                cursor: "ns-resize", pointerEvents: "auto",
                                [edge === "high" ? "top" : "bottom"]: "-5px"});
        band.appendChild(h);
      }
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
let edgeDrag = null;  // an edge of a band being dragged: {region, edge: "low"|"high", r}
document.getElementById("wave").addEventListener("pointerdown", e => {
  const r = spectroRect();
  const hit = e.composedPath()[0];  // the element inside the waveform's shadow root
  if (r && hit && hit.classList && hit.classList.contains("sedal-band-edge")) {
    e.stopPropagation(); e.preventDefault();  // neither a new box nor a move in time
    const region = state.regions.getRegions().find(g => g.element && g.element.contains(hit));
    if (!region) return;
    select(region);
    edgeDrag = {region, edge: hit.dataset.edge, r};
    return;
  }
  if (!e.shiftKey || !r || e.clientY < r.top || e.clientY > r.bottom) return;
  e.stopPropagation(); e.preventDefault();  // not a new box
  if (!state.selected) { setStatus("select a box first, then shift + drag its band"); return; }
  bandDrag = {region: state.selected, y0: e.clientY, r};
}, true);
// The band with one edge at page height y, the other edge kept (at least 1 Hz apart).
function movedEdge(drag, y) {
  const f = yToHz(y, drag.r), g = drag.region;
  return drag.edge === "high" ? [g.sedalLow, Math.max(f, g.sedalLow + 1)]
                              : [Math.min(f, g.sedalHigh - 1), g.sedalHigh];
}
document.addEventListener("pointermove", e => {
  if (edgeDrag) {
    [edgeDrag.region.sedalLow, edgeDrag.region.sedalHigh] = movedEdge(edgeDrag, e.clientY);
    drawBands();
    return;
  }
  if (!bandDrag) return;
  const a = yToHz(bandDrag.y0, bandDrag.r), b = yToHz(e.clientY, bandDrag.r);
  bandDrag.region.sedalLow = Math.min(a, b); bandDrag.region.sedalHigh = Math.max(a, b);
  drawBands();
}, true);
document.addEventListener("pointerup", e => {
  if (edgeDrag) {
    const [low, high] = movedEdge(edgeDrag, e.clientY).map(Math.round);
    edgeDrag = null;
    document.getElementById("low").value = low;
    document.getElementById("high").value = Math.max(high, low + 1);
    setBand();
    return;
  }
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
  state.ready = false;  // until this recording is decoded and its boxes are drawn
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
  state.nyquist = v.sr / 2;
  state.duration = v.duration;
  state.fmax = Math.min(view.fmaxChoice, state.nyquist);
  const spectro = WaveSurfer.Spectrogram.create(spectrogramOptions());
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
  renderViewControls();
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
    ws.setPlaybackRate(view.rate, view.keepPitch);
    if (view.pxPerSec > 0) ws.zoom(view.pxPerSec);
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
  regions.on("region-out", region => {
    if (view.loop && region === state.selected) region.play();
  });
  ws.on("zoom", () => setTimeout(drawBands, 0));
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
  await loadQueue();
  await openNext();
}

async function exportAll() {
  try {
    const res = await api("/api/export", {method: "POST"});
    setStatus(`wrote ${res.labels}` + (res.model ? ` and ${res.model}` : ""));
  } catch (err) {
    setStatus(`export failed: ${err.message}`);
  }
}

const SPEEDS = [0.25, 0.5, 0.75, 1, 1.5, 2];
document.addEventListener("keydown", e => {
  if (["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName)) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key;
  if (k === "?") { e.preventDefault(); toggleShortcuts(); return; }
  if (document.getElementById("shortcuts").open) return;
  if (state.reviewMode) {
    if (k === "a") { decide("accept"); return; }
    if (k === "x") { decide("reject"); return; }
    if (k >= "1" && k <= "9" && Number(k) <= state.classes.length) {
      decide("relabel", state.classes[Number(k) - 1]); return;
    }
    if (k === "v" || k === "Escape") { toggleReview(); return; }
  }
  if (k === "v") { toggleReview(); return; }
  if (k === " ") { e.preventDefault(); if (state.ws) state.ws.playPause(); }
  else if (k >= "1" && k <= "9") chooseClass(Number(k) - 1);
  else if (k === "Delete" || k === "Backspace") { e.preventDefault(); deleteSelected(); }
  else if (k === "Enter") { e.preventDefault(); saveAndNext(); }
  else if (k === "z") undo();
  else if (k === "ArrowLeft" || k === "ArrowRight") {
    e.preventDefault(); seek((k === "ArrowLeft" ? -1 : 1) * (e.shiftKey ? 5 : 1));
  }
  else if (k === "Home") { e.preventDefault(); if (state.ws) state.ws.setTime(0); }
  else if (k === "+" || k === "=") zoomTime(1.5);
  else if (k === "-") zoomTime(1 / 1.5);
  else if (k === "f") zoomFrequency(1);
  else if (k === "F") zoomFrequency(-1);
  else if (k === "[" || k === "]") {
    const i = SPEEDS.indexOf(view.rate);
    setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 3 : i) +
                                          (k === "]" ? 1 : -1)))]);
  }
  else if (k === "l") toggleLoop();
  else if (k === "s") setClipStatus("skipped");
  else if (k === "u") setClipStatus("unsure");
  else if (k === "r") setClipStatus("needs review");
  else if (k === "n" || k === "ArrowDown") { e.preventDefault(); openRelative(1); }
  else if (k === "p" || k === "ArrowUp") { e.preventDefault(); openRelative(-1); }
});
// Ctrl + wheel zooms in time, shift + wheel in frequency, over the recording.
document.getElementById("wave").addEventListener("wheel", e => {
  if (!e.ctrlKey && !e.shiftKey) return;
  e.preventDefault();
  if (e.ctrlKey) zoomTime(e.deltaY < 0 ? 1.25 : 0.8);
  else zoomFrequency(e.deltaY < 0 ? 1 : -1);
}, {passive: false});
document.getElementById("fmax").addEventListener("change", e => {
  view.fmaxChoice = Number(e.target.value); rebuildSpectrogram();
});
document.getElementById("fft").addEventListener("change", e => {
  view.fft = Number(e.target.value); rebuildSpectrogram();
});
document.getElementById("scale").addEventListener("change", e => {
  view.scale = e.target.value; rebuildSpectrogram();
});
document.getElementById("range").addEventListener("change", e => {
  view.rangeDB = Number(e.target.value); rebuildSpectrogram();
});
document.getElementById("speed").addEventListener("change", e => setSpeed(Number(e.target.value)));
document.getElementById("pitch").addEventListener("change", e => {
  view.keepPitch = e.target.checked; setSpeed(view.rate);
});
document.getElementById("loop").addEventListener("click", toggleLoop);
document.getElementById("zoom-in").addEventListener("click", () => zoomTime(1.5));
document.getElementById("zoom-out").addEventListener("click", () => zoomTime(1 / 1.5));
document.getElementById("skip").addEventListener("click", () => setClipStatus("skipped"));
document.getElementById("unsure").addEventListener("click", () => setClipStatus("unsure"));
document.getElementById("review").addEventListener("click", () => setClipStatus("needs review"));
document.getElementById("prev").addEventListener("click", () => openRelative(-1));
document.getElementById("next").addEventListener("click", () => openRelative(1));
document.getElementById("help").addEventListener("click", toggleShortcuts);
document.getElementById("review-mode").addEventListener("click", toggleReview);
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
  const first = q.rows.find(r => !r.labelled && r.status !== "skipped") || q.rows[0];
  if (first) return openRecording(first.rel);
}).catch(err => setStatus(err.message));
