// treemarket explore: the page's code. Plain JavaScript, no build step, nothing from elsewhere:
// every request goes to the server that served this page, with the token of its address.
"use strict";

const TOKEN = new URLSearchParams(window.location.search).get("token") || "";
const VISIBLE_AT_START = 150;
const AUTO_SOLVE_PAIRS = 5000; // buyers × nodes up to which "solve on change" solves by itself // a big tree opens collapsed to the depth that shows about this many
const COL_W = 230, ROW_H = 62, BOX_W = 176, BOX_H = 50;

const state = {
  file: null, canSave: false, text: "", undo: [], model: null, solution: null,
  job: null, compareJob: null, inter: null, checkSeq: 0, expanded: null, kids: null, depth: null, selected: -1,
  highlight: null, view: { x: 20, y: 20, k: 1 }, layout: null,
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ requests
async function call(path, body) {
  const init = { method: body === undefined ? "GET" : "POST", headers: { "X-Treemarket-Token": TOKEN } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok || (data && data.error)) {
    const error = data && data.error ? data.error : { message: `error: ${response.status}`, line: null };
    throw typeof error === "string" ? { message: `error: ${error}`, line: null } : error;
  }
  return data;
}

function status(text, bad) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("bad", !!bad);
}

// numbers as the CLI shows them: `digits` significant digits, "any" for +inf, never -0
function num(x, digits = 6) {
  if (x === null || x === undefined) return "-";
  if (x === Infinity) return "any";
  const v = Number(x) + 0;
  if (v === 0) return "0";
  let s = v.toPrecision(digits);
  if (s.includes("e")) {
    let [m, e] = s.split("e");
    if (m.includes(".")) m = m.replace(/0+$/, "").replace(/\.$/, "");
    const sign = e[0] === "-" ? "-" : "+";
    e = e.replace(/^[+-]/, "");
    return `${m}e${sign}${e.padStart(2, "0")}`;
  }
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// ------------------------------------------------------------------ the editor
function renderGutter(badLine) {
  const lines = $("yaml").value.split("\n").length;
  const parts = new Array(lines);
  for (let k = 1; k <= lines; k++) {
    parts[k - 1] = k === badLine ? `<span class="bad" data-line="${k}">${k}</span>` : `<span>${k}</span>`;
  }
  $("gutter").innerHTML = parts.join("");
  $("gutter").scrollTop = $("yaml").scrollTop;
}

function showError(error) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    box.dataset.line = "";
    renderGutter(null);
    return;
  }
  box.hidden = false;
  box.textContent = error.message;
  box.dataset.line = error.line || "";
  renderGutter(error.line || null);
  if (error.line) scrollToLine(error.line);
}

function scrollToLine(line) {
  const area = $("yaml");
  const top = (line - 1) * 18;
  if (top < area.scrollTop || top > area.scrollTop + area.clientHeight - 36) area.scrollTop = Math.max(0, top - 3 * 18);
}

function setText(text, remember) {
  if (remember && state.text !== text) {
    state.undo.push(state.text);
    if (state.undo.length > 200) state.undo.shift();
  }
  state.text = text;
  if ($("yaml").value !== text) $("yaml").value = text;
  $("undo").disabled = state.undo.length === 0;
  renderGutter(null);
}

let typingTimer = null;
function onTyping() {
  renderGutter(null);
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => {
    const text = $("yaml").value;
    if (text === state.text) return;
    setText(text, true);
    check();
  }, 500);
}

async function check() {
  const seq = ++state.checkSeq;
  const text = state.text;
  let model;
  try {
    model = await call("/api/check", { text, file: state.file });
  } catch (error) {
    if (seq !== state.checkSeq) return;
    showError(error);
    status("the model has an error", true);
    $("certificate").classList.add("stale");
    return;
  }
  if (seq !== state.checkSeq) return;
  showError(null);
  status("valid model");
  setModel(model);
  if (model.kind === "intermediation") {
    if ($("autosolve").checked && model.tree.parent.length <= 2000) solve();
    else $("progress").textContent = "press Solve";
    return;
  }
  const pairs = model.buyers.length * model.tree.parent.length;
  if ($("autosolve").checked && pairs <= AUTO_SOLVE_PAIRS) solve();
  else $("progress").textContent = "press Solve";
}

// ------------------------------------------------------------------ the form of common edits
function fillEdits(edits) {
  const filter = $("edit-filter").value.trim().toLowerCase();
  const select = $("edit-place");
  const before = select.value;
  const shown = (edits || []).filter((e) => !filter || e.label.toLowerCase().includes(filter));
  select.innerHTML = shown.map((e) => `<option value='${esc(JSON.stringify(e.place))}'>${esc(e.label)}</option>`).join("");
  if (shown.some((e) => JSON.stringify(e.place) === before)) select.value = before;
  syncEditValue();
}

function syncEditValue() {
  const edits = (state.model && state.model.edits) || [];
  const chosen = edits.find((e) => JSON.stringify(e.place) === $("edit-place").value);
  $("edit-value").value = chosen ? chosen.value : "";
  $("edit-apply").disabled = !chosen;
}

async function applyEdit(event) {
  event.preventDefault();
  const place = $("edit-place").value;
  const value = Number($("edit-value").value);
  if (!place || $("edit-value").value === "" || !Number.isFinite(value)) return;
  try {
    const out = await call("/api/edit", { text: state.text, file: state.file, place: JSON.parse(place), value });
    setText(out.text, true);
    check();
  } catch (error) {
    showError(error);
  }
}

// ------------------------------------------------------------------ the model and its tree
function setModel(model) {
  const old = state.model;
  state.model = model;
  $("model-name").textContent = `${model.name || "(no name)"} — ${state.file || ""}`;
  $("summary").textContent = `${model.kind === "ttp" ? "TTP" : "intermediation"}: ${model.summary}`;
  const n = model.tree.parent.length;
  const sameShape = old && old.tree.parent.length === n && old.kind === model.kind;
  if (!sameShape) {
    buildStructure(model.tree.parent);
    openToReadableDepth();
    state.selected = -1;
    state.view = { x: 20, y: 20, k: 1 };
  }
  state.solution = null;
  $("certificate").classList.add("stale");
  if (!sameShape) $("certificate").innerHTML = "";
  $("rule-box").hidden = model.kind !== "intermediation";
  $("method-box").hidden = model.kind === "intermediation";
  state.inter = null;
  $("compare-run").disabled = model.kind !== "ttp";
  $("compare").classList.add("stale");
  $("buyer-list").innerHTML = (model.buyers || []).map((b) => `<option value="${esc(b)}">`).join("");
  fillEdits(model.edits);
  renderLegend();
  renderTree();
  if (!sameShape) fit();
  if (state.selected >= 0) showDetails(state.selected);
}

function buildStructure(parent) {
  const n = parent.length;
  const count = new Int32Array(n);
  for (let i = 1; i < n; i++) if (parent[i] >= 0) count[parent[i]]++;
  const kids = new Array(n);
  for (let i = 0; i < n; i++) kids[i] = count[i] ? [] : null;
  const depth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0) { kids[p].push(i); depth[i] = depth[p] + 1; }
  }
  state.kids = kids;
  state.depth = depth;
  state.expanded = new Uint8Array(n);
}

function openToReadableDepth() {
  const depth = state.depth, n = depth.length;
  let maxDepth = 0;
  for (let i = 0; i < n; i++) if (depth[i] > maxDepth) maxDepth = depth[i];
  const perDepth = new Int32Array(maxDepth + 1);
  for (let i = 0; i < n; i++) perDepth[depth[i]]++;
  let shown = 0, open = -1; // nodes of depth <= open are expanded
  for (let d = 0; d <= maxDepth; d++) {
    shown += perDepth[d];
    if (shown > VISIBLE_AT_START && d > 0) break;
    open = d - 1;
    if (d === maxDepth) open = maxDepth;
  }
  open = Math.max(open, 0);
  for (let i = 0; i < n; i++) state.expanded[i] = depth[i] <= open ? 1 : 0;
}

// x by depth; visible leaves one row each; a parent centred on its first and last child
function layout() {
  const kids = state.kids, expanded = state.expanded, n = kids.length;
  const x = new Float64Array(n), y = new Float64Array(n);
  const order = []; // visible nodes, parents before children
  let row = 0;
  const stack = [0];
  const post = [];
  while (stack.length) {
    const v = stack.pop();
    order.push(v);
    x[v] = state.depth[v] * COL_W;
    if (kids[v] && expanded[v]) {
      post.push(v);
      for (let k = kids[v].length - 1; k >= 0; k--) stack.push(kids[v][k]);
    } else {
      y[v] = row++ * ROW_H;
    }
  }
  for (let k = post.length - 1; k >= 0; k--) {
    const v = post[k], c = kids[v];
    y[v] = (y[c[0]] + y[c[c.length - 1]]) / 2;
  }
  return { x, y, order, rows: row };
}

const SQUEEZED = ["#fcbba1", "#d62728"]; // the pictures' red (viz/intermediation.py: u < 0)

function colourOf(node) {
  const colours = state.model.colours;
  if (state.model.kind === "intermediation") return state.inter && state.inter.squeezed[node] ? SQUEEZED : colours.idle;
  const sol = state.solution;
  if (!sol) return colours.idle;
  const main = sol.main_buyer[node];
  if (main < 0) return colours.idle;
  if (state.model.buyers.length > colours.max_coloured) return colours.sale;
  return colours.buyers[main % colours.buyers.length];
}

function shortName(name) {
  const parts = String(name).split(" → ");
  const last = parts[parts.length - 1];
  return last.length > 24 ? last.slice(0, 23) + "…" : last;
}

function nodeLines(v) {
  const m = state.model, sol = state.solution;
  if (m.kind === "intermediation") {
    const lines = [`products ${m.tree.products[v]}`];
    const limit = m.tree.limit[v] !== null ? `${v === 0 ? "s" : "b"} = ${num(m.tree.limit[v], 4)}` : "";
    if (state.inter) lines.push(`u = ${num(state.inter.utility[v], 4)}${limit ? " · " + limit : ""}`);
    else if (limit) lines.push(limit);
    return lines;
  }
  const lines = [];
  if (sol) {
    const buys = sol.byNode[v];
    if (buys && buys.length) {
      const text = buys.map(([i, units]) => (units === 1 && m.counts[i] === 1 ? m.buyers[i] : `${m.buyers[i]} ×${num(units, 4)}`)).join(", ");
      lines.push(`buys: ${text.length > 26 ? text.slice(0, 25) + "…" : text}`);
    } else {
      lines.push(m.node_supply[v] > 0 ? "no sale" : "no supply (μ = 0)");
    }
    if (sol.range_text) lines.push(`p ∈ ${sol.range_text[v]}`);
  } else {
    lines.push(`μ = ${m.node_supply[v]}`);
  }
  return lines;
}

function renderTree() {
  const m = state.model;
  if (!m) return;
  state.layout = layout();
  state.drawn = null;
  draw();
  $("tree-count").textContent = `${state.layout.order.length} of ${m.tree.parent.length} nodes shown`;
}

// Only what is in (or near) the window is drawn: boxes with their text when zoomed in enough
// and not too many, else an overview (one path per colour, one for the edges, no text).
const LOD_K = 0.4, MAX_DETAILED = 2500;
let drawPending = false;

function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; draw(); });
}

function viewWindow() {
  const rect = $("tree").getBoundingClientRect();
  const W = rect.width || 1200, H = rect.height || 800;
  const { x, y, k } = state.view;
  return { x0: -x / k - W / k / 2, x1: (W - x) / k + W / k / 2, y0: -y / k - H / k / 2, y1: (H - y) / k + H / k / 2, W, H, k };
}

function needsDraw() {
  const d = state.drawn;
  if (!d) return true;
  const rect = $("tree").getBoundingClientRect();
  const W = rect.width || 1200, H = rect.height || 800;
  const { x, y, k } = state.view;
  const lod = k < LOD_K;
  if (lod !== d.lod || (!lod && d.overview !== d.lod)) return true;
  return -x / k < d.x0 || (W - x) / k > d.x1 || -y / k < d.y0 || (H - y) / k > d.y1;
}

function draw() {
  const m = state.model, L = state.layout;
  if (!m || !L) return;
  const win = viewWindow();
  const inside = (v) => L.y[v] + BOX_H >= win.y0 && L.y[v] <= win.y1 && L.x[v] + BOX_W + 80 >= win.x0 && L.x[v] <= win.x1;
  const parent = m.tree.parent;
  const shown = [];
  for (const v of L.order) if (inside(v) || (parent[v] >= 0 && inside(parent[v]))) shown.push(v);
  const overview = win.k < LOD_K || shown.length > MAX_DETAILED;
  $("viewport").innerHTML = overview ? overviewSvg(shown) : detailedSvg(shown);
  state.drawn = { x0: win.x0, x1: win.x1, y0: win.y0, y1: win.y1, lod: win.k < LOD_K, overview };
  $("tree").classList.toggle("overview", overview);
  applyView(true);
}

function overviewSvg(shown) {
  const m = state.model, L = state.layout, parent = m.tree.parent, hl = state.highlight;
  const edges = [], hlEdges = [], boxes = new Map(), marked = [];
  for (const v of shown) {
    const p = parent[v];
    if (p >= 0) {
      const seg = `M${L.x[p] + BOX_W},${L.y[p] + BOX_H / 2}L${L.x[v]},${L.y[v] + BOX_H / 2}`;
      (hl && hl.path[v] ? hlEdges : edges).push(seg);
    }
    const key = colourOf(v).join(" ");
    if (!boxes.has(key)) boxes.set(key, []);
    const box = `M${L.x[v]},${L.y[v]}h${BOX_W}v${BOX_H}h${-BOX_W}z`;
    boxes.get(key).push(box);
    if ((hl && hl.nodes[v]) || (state.inter && state.inter.squeezed[v])) marked.push(box);
  }
  let out = `<path class="edge overview" d="${edges.join("")}"/>`;
  if (hlEdges.length) out += `<path class="edge hl overview" d="${hlEdges.join("")}"/>`;
  for (const [key, parts] of boxes) {
    const [face, edge] = key.split(" ");
    out += `<path class="boxes" fill="${face}" stroke="${edge}" d="${parts.join("")}"/>`;
  }
  if (marked.length) out += `<path class="boxes marked" fill="none" d="${marked.join("")}"/>`;
  return out;
}

function detailedSvg(shown) {
  const m = state.model, L = state.layout;
  const parent = m.tree.parent;
  const cond = m.tree.cond;
  const hl = state.highlight;
  const edges = [], nodes = [];
  for (const v of shown) {
    const p = parent[v];
    if (p >= 0) {
      const x0 = L.x[p] + BOX_W, y0 = L.y[p] + BOX_H / 2, x1 = L.x[v], y1 = L.y[v] + BOX_H / 2;
      const mx = (x0 + x1) / 2;
      const inter = state.inter;
      const cls = (hl && hl.path[v] ? "edge hl" : "edge") + (inter && inter.zero[v] ? " zero" : "");
      edges.push(`<path class="${cls}" data-child="${v}" d="M${x0},${y0}C${mx},${y0} ${mx},${y1} ${x1},${y1}"/>`);
      if (cond) edges.push(`<text class="prob" x="${mx + 4}" y="${(y0 + y1) / 2 - 3}">${num(cond[v], 3)}</text>`);
      if (inter) edges.push(`<text class="price" x="${mx + 4}" y="${(y0 + y1) / 2 - 3}">p = ${num(inter.price[v], 4)}</text>`);
    }
    const [face, edge] = colourOf(v);
    const sale = state.solution && state.solution.main_buyer[v] >= 0;
    const squeezed = state.inter && state.inter.squeezed[v];
    const cls = "node" + (sale ? " sale" : "") + (squeezed ? " squeezed" : "") + (v === state.selected ? " selected" : "") + (hl && hl.nodes[v] ? " hl" : "");
    const lines = nodeLines(v);
    let g = `<g class="${cls}" data-node="${v}" transform="translate(${L.x[v]},${L.y[v]})">`;
    g += `<rect class="box" width="${BOX_W}" height="${BOX_H}" rx="5" fill="${face}" stroke="${edge}"/>`;
    g += `<text class="name" x="8" y="15">${esc(shortName(m.tree.names[v]))}</text>`;
    lines.forEach((line, k) => { g += `<text x="8" y="${30 + 14 * k}">${esc(line)}</text>`; });
    if (state.kids[v]) {
      const open = state.expanded[v];
      g += `<g class="toggle" data-toggle="${v}" transform="translate(${BOX_W + 9},${BOX_H / 2})"><circle r="8"/>` +
        `<text y="4.5">${open ? "−" : "+"}</text></g>`;
      if (!open) g += `<text class="prob" x="${BOX_W + 20}" y="${BOX_H / 2 + 4}">${countBelow(v)} below</text>`;
    }
    g += "</g>";
    nodes.push(g);
  }
  return edges.join("") + nodes.join("");
}

function countBelow(v) {
  let total = 0;
  const stack = [v];
  while (stack.length) {
    const u = stack.pop();
    const c = state.kids[u];
    if (c) { total += c.length; for (const w of c) stack.push(w); }
  }
  return total;
}

function renderLegend() {
  const m = state.model;
  const el = $("legend");
  if (m.kind !== "ttp") {
    const inter = state.inter;
    el.innerHTML = inter ? `<span class="item"><span class="swatch" style="background:${SQUEEZED[0]};border-color:${SQUEEZED[1]}"></span>squeezed (u &lt; 0): ${inter.squeezed.filter(Boolean).length}</span>` +
      `<span class="item">- - edge priced 0 (p ≥ 0 binds): ${inter.zero.filter(Boolean).length}</span>` +
      `<span class="item">edges: the price p the child pays; nodes: utility u</span>` : "";
    return;
  }
  const c = m.colours;
  const sw = ([face, edge], label) => `<span class="item"><span class="swatch" style="background:${face};border-color:${edge}"></span>${esc(label)}</span>`;
  let items;
  if (m.buyers.length > c.max_coloured) items = [sw(c.sale, "a sale")];
  else items = m.buyers.map((b, k) => sw(c.buyers[k % c.buyers.length], `${b} buys`));
  items.push(sw(c.idle, "no sale"));
  el.innerHTML = `<span>who buys at each node:</span>` + items.join("");
}

// ------------------------------------------------------------------ pan, zoom, collapse
function applyView(drawing) {
  const { x, y, k } = state.view;
  $("viewport").setAttribute("transform", `translate(${x},${y}) scale(${k})`);
  if (!drawing && state.layout && needsDraw()) scheduleDraw();
}

function fit() {
  const L = state.layout;
  if (!L) return;
  const box = $("tree").getBoundingClientRect();
  let maxX = 0, maxY = 0;
  for (const v of L.order) { maxX = Math.max(maxX, L.x[v] + BOX_W + 70); maxY = Math.max(maxY, L.y[v] + BOX_H); }
  const k = Math.min(1.2, Math.max(0.05, Math.min((box.width - 40) / maxX, (box.height - 40) / maxY)));
  state.view = { x: 20, y: 20, k };
  // drawn now, not at the next frame: what was drawn before fit is for the old view
  applyView(true);
  draw();
}

function setupPanZoom() {
  const svg = $("tree");
  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    if (e.target.closest(".node")) return;
    drag = { x: e.clientX, y: e.clientY, vx: state.view.x, vy: state.view.y, moved: false };
    svg.classList.add("dragging");
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    state.view.x = drag.vx + e.clientX - drag.x;
    state.view.y = drag.vy + e.clientY - drag.y;
    applyView();
  });
  const end = () => { drag = null; svg.classList.remove("dragging"); };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const rect = svg.getBoundingClientRect();
    const px = e.clientX - rect.left, py = e.clientY - rect.top;
    const factor = Math.exp(-e.deltaY * 0.0015);
    const k = Math.min(4, Math.max(0.02, state.view.k * factor));
    const ratio = k / state.view.k;
    state.view = { x: px - (px - state.view.x) * ratio, y: py - (py - state.view.y) * ratio, k };
    applyView();
  }, { passive: false });
  svg.addEventListener("click", (e) => {
    const toggle = e.target.closest(".toggle");
    if (toggle) { toggleNode(Number(toggle.dataset.toggle)); return; }
    const node = e.target.closest(".node");
    if (node) selectNode(Number(node.dataset.node));
  });
}

function toggleNode(v) {
  if (!state.kids[v]) return;
  // keep the clicked node where it is on the screen
  const before = state.layout.y[v];
  state.expanded[v] = state.expanded[v] ? 0 : 1;
  renderTree();
  state.view.y += (before - state.layout.y[v]) * state.view.k;
  applyView();
}

function expandAll() {
  state.expanded.fill(1);
  renderTree();
  fit();
}

function collapseAll() {
  openToReadableDepth();
  renderTree();
  fit();
}

// ------------------------------------------------------------------ details and search
function selectNode(v) {
  state.selected = v;
  for (const el of document.querySelectorAll("#tree .node.selected")) el.classList.remove("selected");
  const el = document.querySelector(`#tree .node[data-node="${v}"]`);
  if (el) el.classList.add("selected");
  showDetails(v);
}

function showDetails(v) {
  const m = state.model, sol = state.solution, box = $("details");
  if (v < 0 || !m || v >= m.tree.parent.length) { box.hidden = true; return; }
  let html = `<button class="close" type="button" id="details-close">×</button><h2>${esc(m.tree.names[v])}</h2>`;
  if (m.kind === "intermediation") {
    html += `<div>products ${esc(m.tree.products[v])}</div>`;
    if (m.tree.limit[v] !== null) html += `<div>limit price ${num(m.tree.limit[v])}</div>`;
    if (state.inter) {
      if (v > 0) html += `<div>pays its parent p = <b>${num(state.inter.price[v])}</b></div>`;
      html += `<div>utility u = <b>${num(state.inter.utility[v])}</b>${state.inter.squeezed[v] ? " (squeezed)" : ""}</div>`;
    }
    box.innerHTML = html;
    box.hidden = false;
    return;
  }
  html += `<div>time ${m.tree.time[v]} · probability ${num(m.tree.prob[v])} · ${m.tree.event_size[v]} scenario${m.tree.event_size[v] === 1 ? "" : "s"}</div>`;
  html += `<div>supply μ = ${m.node_supply[v]}`;
  if (sol) html += ` · sold ${num(sol.sold[v])}`;
  html += "</div>";
  if (sol && sol.price_low) {
    html += `<div class="range">supporting price range <b id="detail-range">${esc(sol.range_text[v])}</b>`;
    if (sol.price) html += ` · reported price ${num(sol.price[v])}`;
    html += "</div>";
  }
  const buyers = m.buyers.length <= 60 ? m.buyers.map((_, i) => i) : (sol ? (sol.byNode[v] || []).map(([i]) => i) : []);
  html += "<table><tr><th>buyer</th><th>value</th><th>buys</th>";
  const ov = sol && sol.option_values;
  if (ov) html += "<th title='ψ_i(n)'>ψ</th><th title='E[ψ_i(t+1) | n]: the option value of waiting'>wait</th>";
  html += "</tr>";
  const bought = new Map((sol && sol.byNode[v]) || []);
  for (const i of buyers) {
    html += `<tr><td>${esc(m.buyers[i])}</td><td>${m.values ? num(m.values[v][i]) : "-"}</td><td>${bought.has(i) ? num(bought.get(i)) : ""}</td>`;
    if (ov) html += `<td>${num(ov.psi[i][v])}</td><td>${state.kids[v] ? num(ov.wait[i][v]) : "-"}</td>`;
    html += "</tr>";
  }
  html += "</table>";
  if (buyers.length < m.buyers.length) html += `<div>(${m.buyers.length} buyers: those who buy here shown)</div>`;
  box.innerHTML = html;
  box.hidden = false;
}

function highlightBuyer() {
  const m = state.model, sol = state.solution;
  const name = $("buyer-search").value.trim();
  state.highlight = null;
  if (m && m.kind === "ttp" && sol && name) {
    const i = m.buyers.indexOf(name);
    if (i >= 0) {
      const n = m.tree.parent.length;
      const nodes = new Uint8Array(n), path = new Uint8Array(n);
      let shown = 0;
      for (const [b, v] of sol.purchases) {
        if (b !== i) continue;
        nodes[v] = 1;
        for (let u = v; u >= 0 && !path[u]; u = m.tree.parent[u]) {
          path[u] = 1;
          if (shown < 200 && m.tree.parent[u] >= 0) state.expanded[m.tree.parent[u]] = 1;
        }
        shown++;
      }
      state.highlight = { nodes, path, buyer: i };
    }
  }
  renderTree();
}

// ------------------------------------------------------------------ solving
async function analyzeTree() {
  const text = state.text;
  $("progress").textContent = "pricing…";
  let out;
  try {
    out = await call("/api/intermediation", { text, file: state.file, rule: $("rule").value });
  } catch (error) {
    $("progress").textContent = error.message;
    if (error.line) showError(error);
    return;
  }
  if (text !== state.text) return;
  state.inter = out;
  $("progress").textContent = `priced (${out.rule})`;
  $("certificate").innerHTML = out.lines.map((l) => `<div class="line">${esc(l)}</div>`).join("");
  $("certificate").classList.remove("stale");
  renderLegend();
  renderTree();
  if (state.selected >= 0) showDetails(state.selected);
}

async function solve() {
  if (state.model && state.model.kind === "intermediation") { analyzeTree(); return; }
  if (!state.model || state.model.kind !== "ttp") return;
  let out;
  try {
    out = await call("/api/solve", { text: state.text, file: state.file, method: $("method").value });
  } catch (error) {
    showError(error);
    return;
  }
  state.job = out.job;
  $("cancel").disabled = false;
  $("progress").textContent = "solving…";
  poll(out.job);
}

async function poll(job) {
  if (state.job !== job) return;
  let st;
  try {
    st = await call(`/api/jobs/${job}`);
  } catch (error) {
    $("progress").textContent = error.message;
    return;
  }
  if (state.job !== job) return;
  if (st.state === "running") {
    let text = `solving… ${st.seconds.toFixed(1)} s`;
    const p = st.progress;
    if (p) text += ` · step ${p.step}: bound ${num(p.bound)}, welfare ${num(p.welfare)}, gap ${num(p.gap, 3)}`;
    $("progress").textContent = text;
    setTimeout(() => poll(job), 250);
    return;
  }
  state.job = null;
  $("cancel").disabled = true;
  if (st.state === "done") {
    $("progress").textContent = `solved in ${st.seconds.toFixed(1)} s (${st.result.method})`;
    setSolution(st.result);
  } else if (st.state === "cancelled") {
    $("progress").textContent = "cancelled";
  } else {
    $("progress").textContent = st.error ? st.error.message : "failed";
    if (st.error && st.error.line) showError(st.error);
  }
}

async function cancel() {
  const job = state.job;
  if (!job) return;
  state.job = null;
  $("cancel").disabled = true;
  $("progress").textContent = "cancelling…";
  try { await call(`/api/jobs/${job}/cancel`, {}); } catch (error) { /* already over */ }
  $("progress").textContent = "cancelled";
}

function setSolution(sol) {
  const byNode = {};
  for (const [i, v, units] of sol.purchases) (byNode[v] = byNode[v] || []).push([i, units]);
  sol.byNode = byNode;
  state.solution = sol;
  const lines = sol.certificate.map(([label, text]) => {
    const id = label.startsWith("expected welfare") ? ' id="welfare"' : "";
    return `<div class="line">${esc(label.padEnd(22))} <span class="value"${id}>${esc(text)}</span></div>`;
  });
  for (const note of sol.notes) lines.push(`<div class="note">note: ${esc(note)}</div>`);
  if (sol.lotteries) lines.push(`<div class="note">the LP optimum is fractional: ${sol.lotteries} lottery rows (ttp solve shows them)</div>`);
  $("certificate").innerHTML = lines.join("");
  $("certificate").classList.remove("stale");
  if ($("buyer-search").value) highlightBuyer(); else renderTree();
  if (state.selected >= 0) showDetails(state.selected);
}

// ------------------------------------------------------------------ compare
function showTab(id) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === id);
  for (const v of document.querySelectorAll("#view-pane .view")) v.hidden = v.id !== id;
  if (id === "tree-view") fit();
}

async function compare() {
  if (!state.model || state.model.kind !== "ttp") return;
  let out;
  try {
    out = await call("/api/compare", { text: state.text, file: state.file });
  } catch (error) {
    $("compare-progress").textContent = error.message;
    return;
  }
  state.compareJob = out.job;
  $("compare-cancel").disabled = false;
  $("compare-progress").textContent = "comparing…";
  pollCompare(out.job);
}

async function pollCompare(job) {
  if (state.compareJob !== job) return;
  let st;
  try { st = await call(`/api/jobs/${job}`); } catch (error) { $("compare-progress").textContent = error.message; return; }
  if (state.compareJob !== job) return;
  if (st.state === "running") {
    $("compare-progress").textContent = `comparing… ${st.seconds.toFixed(1)} s`;
    setTimeout(() => pollCompare(job), 300);
    return;
  }
  state.compareJob = null;
  $("compare-cancel").disabled = true;
  if (st.state === "done") {
    $("compare-progress").textContent = `done in ${st.seconds.toFixed(1)} s`;
    renderCompare(st.result);
  } else {
    $("compare-progress").textContent = st.state === "cancelled" ? "cancelled" : (st.error ? st.error.message : "failed");
  }
}

async function cancelCompare() {
  const job = state.compareJob;
  if (!job) return;
  state.compareJob = null;
  $("compare-cancel").disabled = true;
  $("compare-progress").textContent = "cancelling…";
  try { await call(`/api/jobs/${job}/cancel`, {}); } catch (error) { /* already over */ }
  $("compare-progress").textContent = "cancelled";
}

function sectionsHtml(sections) {
  return sections.map((section) => {
    let out = `<section><h2>${esc(section.title)}</h2>`;
    for (const t of section.tables) {
      out += `<table><caption>${esc(t.title)}</caption><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>`;
      out += t.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("") + "</table>";
    }
    out += section.lines.map((l) => `<div class="line">${esc(l)}</div>`).join("");
    out += section.images.join(""); // <img> elements with SVG data URIs, made by the server
    return out + "</section>";
  }).join("");
}

function renderCompare(result) {
  $("compare").innerHTML = sectionsHtml(result.sections);
  $("compare").classList.remove("stale");
}

async function openStudy(event) {
  event.preventDefault();
  const path = $("study-path").value.trim();
  if (!path) return;
  $("study-status").textContent = "reading…";
  try {
    const out = await call("/api/study", { path });
    $("study").innerHTML = sectionsHtml([{ title: out.name, tables: out.tables, lines: out.lines, images: out.images }]);
    $("study-status").textContent = "";
  } catch (error) {
    $("study-status").textContent = error.message;
  }
}

// ------------------------------------------------------------------ files
function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function baseName() {
  const f = state.file || "model.yaml";
  return f.split(/[\\/]/).pop();
}

async function save() {
  try {
    const out = await call("/api/save", { text: state.text, file: state.file });
    status(`wrote ${out.wrote}`);
  } catch (error) {
    showError(error);
    status("not saved", true);
  }
}

async function cssText() {
  const response = await fetch("/static/app.css");
  return response.text();
}

async function exportView() {
  const css = await cssText();
  const svg = $("tree").cloneNode(true);
  svg.removeAttribute("id");
  const L = state.layout;
  let maxX = 0, maxY = 0;
  for (const v of L.order) { maxX = Math.max(maxX, L.x[v] + BOX_W + 80); maxY = Math.max(maxY, L.y[v] + BOX_H); }
  svg.setAttribute("viewBox", `-10 -10 ${maxX + 20} ${maxY + 20}`);
  svg.setAttribute("width", String(maxX + 20));
  svg.setAttribute("height", String(maxY + 20));
  svg.querySelector("g").removeAttribute("transform");
  const title = esc(state.model.name || baseName());
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    `<style>${css.replace(/#tree/g, "svg.tree")} svg.tree{width:auto;height:auto}</style></head><body>` +
    `<h1 style="font-size:18px;padding:0 12px">${title}</h1><div id="summary">${esc($("summary").textContent)}</div>` +
    `<div id="certificate">${$("certificate").innerHTML}</div><div id="legend">${$("legend").innerHTML}</div>` +
    svg.outerHTML.replace("<svg ", '<svg class="tree" ') + "</body></html>";
  download(baseName().replace(/\.(ya?ml|json)$/i, "") + "-view.html", html, "text/html");
}

// ------------------------------------------------------------------ start
async function loadText(file, text) {
  state.file = file;
  $("save").disabled = !(state.canSave && file === state.startFile);
  state.undo = [];
  state.model = null;
  setText(text, false);
  await check();
}

async function start() {
  setupPanZoom();
  $("yaml").addEventListener("input", onTyping);
  $("yaml").addEventListener("scroll", () => { $("gutter").scrollTop = $("yaml").scrollTop; });
  $("edit-form").addEventListener("submit", applyEdit);
  $("edit-filter").addEventListener("input", () => fillEdits(state.model && state.model.edits));
  $("edit-place").addEventListener("change", syncEditValue);
  $("undo").addEventListener("click", () => {
    if (!state.undo.length) return;
    const text = state.undo.pop();
    setText(text, false);
    $("undo").disabled = state.undo.length === 0;
    check();
  });
  $("download").addEventListener("click", () => download(baseName(), state.text, "application/yaml"));
  $("save").addEventListener("click", save);
  $("export").addEventListener("click", exportView);
  $("solve").addEventListener("click", solve);
  $("cancel").addEventListener("click", cancel);
  $("compare-run").addEventListener("click", compare);
  $("study-form").addEventListener("submit", openStudy);
  $("rule").addEventListener("change", () => { if (state.model && state.model.kind === "intermediation") analyzeTree(); });
  $("compare-cancel").addEventListener("click", cancelCompare);
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("expand-all").addEventListener("click", expandAll);
  $("collapse").addEventListener("click", collapseAll);
  $("fit").addEventListener("click", fit);
  $("buyer-search").addEventListener("input", highlightBuyer);
  $("details").addEventListener("click", (e) => { if (e.target.id === "details-close") { $("details").hidden = true; state.selected = -1; renderTree(); } });
  $("example").addEventListener("change", async () => {
    const name = $("example").value;
    if (!name) return;
    try {
      const out = await call("/api/example", { name });
      await loadText(out.file, out.text);
    } catch (error) { showError(error); }
  });
  const first = await call("/api/start", {});
  state.canSave = first.can_save;
  state.startFile = first.file;
  $("example").innerHTML = '<option value="">—</option>' + first.examples.map((n) => `<option>${esc(n)}</option>`).join("");
  await loadText(first.file, first.text);
}

start().catch((error) => status(error.message || String(error), true));
