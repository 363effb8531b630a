// The staff network explorer: the network from /graphql drawn with sigma.js, searchable and filterable, with
// recommended peers drawn on it and learning groups editable by hand. State lives in the URL.
import Sigma from "sigma";
import { EdgeLineProgram } from "sigma/rendering";
import "./style.css";
import { gql, setToken, token } from "./api.js";
import { paint } from "./appearance.js";
import { download, gexf, pngBlob } from "./exporting.js";
import { GroupsEditor } from "./groups.js";
import { showNode } from "./panel.js";
import { setupSearch } from "./search.js";
import { BANDS, readState, writeState } from "./state.js";
import { describe, drawSuggestions, fetchSuggestions, renderSuggestions, suggestionAt } from "./suggestions.js";
import { DRILL, fetchView, loadAll, merge, newGraph } from "./view.js";

const $ = (id) => document.getElementById(id);
const state = readState();
const chosen = new Set(new URLSearchParams(location.search).keys()); // what the URL set: never overridden
let graph = newGraph();
let meta = null;
let renderer = null;
let suggestions = [];
let hovered = -1;
let groupOf = null;
let loads = 0;
let selecting = 0;
let pendingTiming = null;
const probe = { timings: [], loads: 0, rendered: 0, firstFrame: null, marks: {} };
window.__explorer = {
  probe, state, graph: () => graph, meta: () => meta, suggestions: () => suggestions.map((s) => ({ ...s })),
  renderer: () => renderer,
};

function say(text, error = false) {
  const box = $("messages");
  box.textContent = text;
  box.className = error ? "error" : "";
}

function overlay(r = renderer, ctx = renderer?.getCanvases().suggestions?.getContext("2d")) {
  if (r && ctx) drawSuggestions(r, ctx, suggestions, r === renderer ? hovered : -1);
}

function settings() {
  return {
    renderEdgeLabels: false, labelRenderedSizeThreshold: 7, labelFont: "DejaVu Sans, Noto Sans, sans-serif",
    labelSize: 13, labelDensity: 0.8, zIndex: true, minCameraRatio: 0.01, maxCameraRatio: 20,
    defaultEdgeColor: "#dddddd", hideEdgesOnMove: true, // panning stays smooth with 100k edges
    nodeReducer: (node, data) => {
      const selected = state.select;
      if (!selected || !graph.hasNode(selected)) return data;
      if (node === selected) return { ...data, highlighted: true, zIndex: 2, forceLabel: true };
      const near = graph.hasEdge(node, selected) || graph.hasEdge(selected, node)
        || suggestions.some((s) => s.target === node);
      return near ? { ...data, zIndex: 1, forceLabel: suggestions.some((s) => s.target === node) }
        : { ...data, color: "#e4e4e4", label: null, zIndex: 0 };
    },
    edgeReducer: (edge, data) => {
      const selected = state.select;
      if (!selected || !graph.hasNode(selected)) return data; // colour and size set when the edge was added
      if (!graph.hasExtremity(edge, selected)) return { ...data, color: "#f1f1f1", size: 0.4 };
      return { ...data, color: "#8899aa" };
    },
    defaultEdgeType: "line", edgeProgramClasses: { line: EdgeLineProgram }, // 1px lines: 3x fewer vertices
  };
}

function mount() {
  // created empty, so that the view is indexed and drawn once, by the setGraph of the first load
  renderer = new Sigma(newGraph(), $("graph"), settings());
  renderer.createCanvasContext("suggestions", { afterLayer: "edges" });
  renderer.resize(true);
  renderer.on("afterRender", () => {
    overlay();
    probe.rendered += 1;
    if (graph.order > 0 && probe.firstFrame === null) probe.firstFrame = performance.now();
    if (pendingTiming && pendingTiming.load === loads && graph.order >= 0) {
      probe.timings.push({ what: pendingTiming.what, ms: performance.now() - pendingTiming.start, nodes: graph.order });
      pendingTiming = null;
    }
    document.body.dataset.rendered = String(loads);
  });
  renderer.on("clickNode", ({ node }) => {
    const kind = graph.getNodeAttribute(node, "kind");
    if (kind === "Country") { setFilter("country", node.slice("country:".length)); return; }
    if (kind === "Community") { setFilter("community", node.slice("community:".length)); return; }
    select(node);
  });
  renderer.on("clickStage", () => { if (hovered < 0) select(""); });
  const container = $("graph");
  container.addEventListener("mousemove", (event) => {
    const rect = container.getBoundingClientRect();
    const k = suggestionAt(renderer, suggestions, event.clientX - rect.left, event.clientY - rect.top);
    if (k !== hovered) { hovered = k; overlay(); }
    const tip = $("tooltip");
    if (k >= 0) {
      tip.textContent = describe(suggestions[k]);
      tip.style.left = `${event.clientX - rect.left + 14}px`;
      tip.style.top = `${event.clientY - rect.top + 14}px`;
      tip.hidden = false;
    } else tip.hidden = true;
  });
}

function repaint() {
  const legend = paint(graph, state, groupOf);
  renderLegend(legend);
  renderer?.refresh();
}

function renderLegend(rows) {
  const list = $("legend-items");
  list.replaceChildren(...rows.map((r) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = r.colour;
    li.append(swatch, ` ${r.label}${r.count !== null ? ` (${r.count.toLocaleString("en")})` : ""}`);
    return li;
  }));
  $("legend-title").textContent = groupOf ? "Colour: learning group" : `Colour: ${state.colour}`;
}

function renderStatus() {
  const count = $("count");
  count.dataset.nodes = String(graph.order);
  count.dataset.edges = String(graph.size);
  if (meta?.groupedBy) {
    const groups = meta.groupedBy === "COUNTRY" ? "countries" : "communities";
    count.textContent = `Overview: ${meta.totalCount.toLocaleString("en")} cities in ${graph.order} ${groups}, `
      + `${meta.hiddenCount.toLocaleString("en")} nodes hidden (too many to draw at once). Click a ${groups === "countries" ? "country" : "community"} or filter to open it.`;
  } else {
    const hidden = meta ? meta.hiddenCount : 0;
    count.textContent = `Showing ${graph.order.toLocaleString("en")} nodes and ${graph.size.toLocaleString("en")} links`
      + (hidden ? `; ${hidden.toLocaleString("en")} matching nodes hidden (the best connected are drawn: narrow `
        + `the filter, or raise ?limit= in the URL, to see the rest)` : "")
      + (state.removed.length ? `; ${state.removed.length} removed by hand` : "") + ".";
  }
}

async function reload(what = "load") {
  loads += 1;
  const load = loads;
  const start = performance.now();
  say("Loading…");
  try {
    const result = await loadAll(state, probe.marks, (attempt) => say(`The server is laying out this data `
      + `version (once per version: layout and communities)… still working, attempt ${attempt + 1}`));
    if (load !== loads) return;
    graph = result.graph;
    meta = result.meta;
    if (meta.groupedBy) largeNetworkDefaults();
    renderLegend(paint(graph, state, groupOf));
    probe.marks.painted = performance.now();
    pendingTiming = { what, start, load };
    if (!renderer) mount();
    frame();
    renderer.setGraph(graph); // one full refresh: index and draw the new graph
    probe.marks.mounted = performance.now();
    renderStatus();
    fillCountries();
    writeState(state);
    say("");
    probe.loads = load;
    if (state.select) await select(state.select, { keepCamera: what !== "load" });
    else { suggestions = []; $("panel").replaceChildren(); }
  } catch (error) {
    say(error.message, true);
  }
}

// A network too large to draw opens on an overview; what it drills into is drawn on the map, coloured by
// country and capped at DRILL nodes unless the URL says otherwise: the force layout and the communities of
// 100k cities take the server minutes to compute the first time (once per data version), the map and
// countries nothing, and a country of 15,000 cities with its 100,000 links takes the page ~0.85 s to draw.
function largeNetworkDefaults() {
  for (const [key, value] of [["layout", "geo"], ["colour", "country"], ["limit", String(DRILL)]]) {
    if (chosen.has(key)) continue;
    state[key] = value;
    if ($(key)) $(key).value = value;
  }
}

// Frame the bulk of the view (1st to 99th percentile): a few far-away nodes do not shrink the rest to a dot.
function frame() {
  if (graph.order < 200) { renderer.setCustomBBox(null); return; }
  const xs = graph.mapNodes((n, a) => a.x).sort((a, b) => a - b);
  const ys = graph.mapNodes((n, a) => a.y).sort((a, b) => a - b);
  const q = (v, f) => v[Math.floor(f * (v.length - 1))];
  renderer.setCustomBBox({ x: [q(xs, 0.01), q(xs, 0.99)], y: [q(ys, 0.01), q(ys, 0.99)] });
}

async function ensureInView(ids) {
  const missing = ids.filter((id) => !graph.hasNode(id));
  if (!missing.length) return;
  merge(graph, await fetchView(state, { focus: missing, hops: 0 }), new Set(state.removed));
  paint(graph, state, groupOf);
}

async function select(id, { keepCamera = false } = {}) {
  state.select = id || "";
  writeState(state);
  suggestions = [];
  hovered = -1;
  const panel = $("panel");
  if (!id) { panel.replaceChildren(); renderer?.refresh({ skipIndexation: true }); return; }
  if (!graph.hasNode(id)) {
    state.expand = [...state.expand, `${id}:1`];
    await reload("expand");
    return;
  }
  const ticket = ++selecting; // a later selection wins over one still loading
  try {
    const content = document.createElement("div");
    await showNode(content, id, { graph: () => graph, go, expand, remove });
    let found = [];
    if (graph.getNodeAttribute(id, "kind") === "City") {
      found = await fetchSuggestions(id);
      if (ticket !== selecting) return;
      await ensureInView(found.map((s) => s.target));
    }
    if (ticket !== selecting) return;
    suggestions = found;
    panel.replaceChildren(...content.childNodes);
    if (found.length || graph.getNodeAttribute(id, "kind") === "City") {
      renderSuggestions($("suggestions"), suggestions, { go, changed: () => reload("feedback"), say });
    }
    $("panel-title")?.focus({ preventScroll: true });
  } catch (error) {
    say(error.message, true);
  }
  renderer.refresh({ skipIndexation: true }); // the reducers' highlight; positions and sizes are unchanged
  if (!keepCamera) {
    const display = renderer.getNodeDisplayData(id);
    if (display) renderer.getCamera().animate({ x: display.x, y: display.y, ratio: 0.35 }, { duration: 400 });
  }
  document.body.dataset.selected = id;
}

function go(id) { select(id); }

async function expand(id, hops) {
  state.expand = [...state.expand.filter((e) => !e.startsWith(`${id}:`)), `${id}:${hops}`];
  await reload("expand");
}

function remove(id) {
  state.removed = [...new Set([...state.removed, id])];
  if (state.select === id) state.select = "";
  if (graph.hasNode(id)) graph.dropNode(id);
  suggestions = suggestions.filter((s) => s.target !== id && s.source !== id);
  repaint();
  renderStatus();
  writeState(state);
  if (!state.select) $("panel").replaceChildren();
}

function setFilter(key, value) {
  state[key] = value;
  const input = $(`filter-${key}`);
  if (input) input.value = value;
  state.expand = [];
  reload("filter");
}

function fillCountries() {
  const list = $("countries");
  const seen = new Set([...list.options].map((o) => o.value));
  graph.forEachNode((id, a) => {
    const code = a.kind === "Country" ? id.slice(8) : a.data.country;
    if (code && !seen.has(code)) { seen.add(code); list.append(new Option(code, code)); }
  });
}

async function fillList(listId, kind, q = "") {
  const field = kind === "Cohort" ? "cohorts" : "challenges";
  const data = await gql(`query List($q: String) { ${field}(search: $q, first: 50) { edges { node { id name } } } }`,
    { q: q || null }).catch(() => null);
  if (!data) return;
  $(listId).replaceChildren(...data[field].edges.map(({ node }) => new Option(node.name, node.id)));
}

function controls() {
  const bind = (id, key, after = () => reload("filter")) => {
    const input = $(id);
    input.value = state[key];
    input.addEventListener("change", () => { state[key] = input.value.trim(); after(); });
  };
  for (const [value, label] of BANDS) $("filter-pop").append(new Option(label, value));
  bind("filter-country", "country");
  bind("filter-region", "region");
  bind("filter-pop", "pop");
  bind("filter-cohort", "cohort");
  bind("filter-challenge", "challenge");
  bind("filter-sector", "sector");
  bind("filter-community", "community");
  bind("layout", "layout", () => reload("layout"));
  bind("size", "size", () => { repaint(); writeState(state); });
  bind("colour", "colour", () => {
    const needsCommunity = state.colour === "community" && [...graph.nodes()].some((n) => graph.getNodeAttribute(n, "data").community === undefined);
    if (needsCommunity) reload("colour"); else { repaint(); writeState(state); }
  });
  for (const box of document.querySelectorAll("input[name=kind]")) {
    box.checked = state.kinds.includes(box.value);
    box.addEventListener("change", () => {
      state.kinds = [...document.querySelectorAll("input[name=kind]:checked")].map((b) => b.value);
      reload("filter");
    });
  }
  $("filter-cohort").addEventListener("input", (e) => fillList("cohorts", "Cohort", e.target.value));
  $("groups-cohort").addEventListener("input", (e) => fillList("cohorts", "Cohort", e.target.value));
  $("filter-challenge").addEventListener("input", (e) => fillList("challenges", "Challenge", e.target.value));
  $("reset").addEventListener("click", () => { location.search = ""; });
  $("export-png").addEventListener("click", async () => download("citypeers-view.png", await pngBlob(renderer, overlay)));
  $("export-gexf").addEventListener("click", () => download("citypeers-view.gexf", gexf(graph)));
  $("token").value = token();
  $("token").addEventListener("change", (e) => { setToken(e.target.value.trim()); if (state.select) select(state.select, { keepCamera: true }); });
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
    if (event.key === "/" && !typing) { event.preventDefault(); $("search").focus(); }
    if (event.key === "Escape" && !typing) select("");
  });
  setupSearch({ input: $("search"), list: $("search-list"), graph: () => graph, choose: (id) => select(id) });
  const editor = new GroupsEditor($("groups"), {
    say,
    onChange: (membership) => { groupOf = membership && membership.size ? membership : null; repaint(); },
    onEdit: (ids) => { state.edited = JSON.stringify(ids); writeState(state); }, // the hand edit, in the URL
  });
  window.__explorer.groups = editor;
  $("groups-sizes").value = state.sizes;
  $("groups-countries").value = state.countries;
  $("groups-cohort").value = state.groups;
  const propose = async () => {
    state.edited = "";
    state.groups = $("groups-cohort").value.trim();
    state.sizes = $("groups-sizes").value.trim() || "4-6";
    state.countries = $("groups-countries").value || "1";
    writeState(state);
    if (!state.groups) { editor.clear(); return; }
    try {
      await editor.propose(state.groups, state.sizes, state.countries);
      if (edited) await editor.apply(JSON.parse(edited));
    } catch (error) { say(error.message, true); }
    edited = "";
  };
  let edited = state.edited; // a hand-edited grouping from the URL, applied once on top of the proposal
  $("groups-propose").addEventListener("click", propose);
  $("groups-clear").addEventListener("click", () => {
    state.groups = "";
    state.edited = "";
    $("groups-cohort").value = "";
    writeState(state);
    editor.clear();
  });
  $("groups-csv").addEventListener("click", () => { if (editor.groups) download(`groups-${state.groups}.csv`, new Blob([editor.csv()], { type: "text/csv" })); });
  return propose;
}

const propose = controls();
reload("load").then(() => {
  if (state.groups) propose();
  fillList("cohorts", "Cohort"); // after the first frame: the view's request goes first
  fillList("challenges", "Challenge");
});
