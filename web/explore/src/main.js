// The staff network explorer: the network from /graphql drawn with sigma.js, searchable and filterable, with
// recommended peers drawn on it and learning groups editable by hand. State lives in the URL.
import Sigma from "sigma";
import { EdgeLineProgram } from "sigma/rendering";
import "./style.css";
import { ApiError, gql, onTokenRefused, setToken, token } from "./api.js";
import { nameLegend, paint } from "./appearance.js";
import { download, gexf, pngBlob } from "./exporting.js";
import { GroupsEditor, groupsForm } from "./groups.js";
import { LARGE_VIEW_SETTINGS, labelBoxes, labelDrawer, SMALL_VIEW_SETTINGS } from "./labels.js";
import { showNode } from "./panel.js";
import { setupSearch } from "./search.js";
import { fillSectors, showSector } from "./sectors.js";
import { BANDS, DEFAULTS, expansion, readState, writeState } from "./state.js";
import { describe, drawSuggestions, fetchSuggestions, renderSuggestions, suggestionAt } from "./suggestions.js";
import { DRILL, fetchView, lacks, loadAll, MAX_VIEW, merge, newGraph } from "./view.js";

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
let failed = false; // the last load failed: what is drawn (if anything) is the one before
let drawn = null; // the view's keys of the state as drawn: a failed load puts them back (controls and URL)
let legends = 0;
let selecting = 0;
let pendingTiming = null;
let sectors = false; // the partner-sector menu lists the sectors there are (asked once a view is drawn)
let blamed = null; // the id of the field the error on screen is about: corrected or emptied, the error goes
let changing = null; // the filter (state key) whose change is loading
let communities = null; // { count, version }: the network's communities are numbered 0 to count - 1
const probe = { timings: [], loads: 0, rendered: 0, firstFrame: null, marks: {} };
window.__explorer = {
  probe, state, graph: () => graph, meta: () => meta, suggestions: () => suggestions.map((s) => ({ ...s })),
  renderer: () => renderer, labelBoxes: () => labelBoxes(renderer),
};

// `field`: the id of the field an error is about (its message goes once that field is corrected or emptied).
function say(text, error = false, field = null) {
  const box = $("messages");
  box.textContent = text;
  box.className = error ? "error" : "";
  blamed = error ? field : null;
}

// The error on screen goes if it is about the field `id` (put back on what is drawn, or emptied).
function clearAbout(id) {
  if (blamed === id) clearError();
}

function clearError() {
  if ($("messages").className === "error") say("");
}

// For screen readers, what the focus does not say: a node selected moves the focus to the panel's title (read
// out; the panel itself is not a live region, so it is not read twice), a selection cleared is said here.
function announce(text) {
  $("announce").textContent = text;
}

// What a load depends on; groups, their parameters and the selection are kept apart.
const GROUPS = ["groups", "sizes", "countries", "edited"];
const VIEW = Object.keys(DEFAULTS).filter((k) => k !== "select" && !GROUPS.includes(k));
// Loads that are a deliberate step of staff: a history entry once drawn (the others rewrite the current one).
const STEPS = new Set(["filter", "layout", "colour", "expand"]);

function settle() {
  drawn = structuredClone(Object.fromEntries(VIEW.map((k) => [k, state[k]])));
}

function overlay(r = renderer, ctx = renderer?.getCanvases().suggestions?.getContext("2d")) {
  if (r && ctx) drawSuggestions(r, ctx, suggestions, r === renderer ? hovered : -1);
}

const ALL_LABELS = 200; // nodes at most in a view whose every node may show its label

function settings() {
  return {
    renderEdgeLabels: false, ...LARGE_VIEW_SETTINGS, labelFont: "DejaVu Sans, Noto Sans, sans-serif",
    labelSize: 13, zIndex: true, minCameraRatio: 0.01, maxCameraRatio: 20,
    defaultDrawNodeLabel: labelDrawer(() => renderer, () => graph.order <= ALL_LABELS), // no label over another
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
  // the dashed suggestions over the nodes (under the labels): under them, the dimmed discs of a large network hid
  // them; each stops at its two cities' rims
  renderer.createCanvasContext("suggestions", { afterLayer: "nodes" });
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
    select(node, { push: true });
  });
  renderer.on("clickStage", () => { if (hovered < 0) deselect(); });
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
  const ticket = ++legends;
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
  // the groups' colours win while they are drawn: the Colour menu is off meanwhile, and says why (it changed the
  // menu, the URL and the history but not one node, until 2026-12-07)
  $("colour").disabled = Boolean(groupOf);
  $("colour").title = groupOf ? "Nodes are coloured by learning group while groups are drawn: clear them to colour "
    + "by another attribute." : "";
  if (rows.some((r) => r.unnamed)) {
    nameLegend(rows).then((named) => { if (ticket === legends) renderLegend(named); }).catch(() => {});
  }
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

// Loads the view the state describes; true when it is drawn. `note` (what the change did) stays on screen.
// A failed load leaves the view drawn before, and puts the controls and the URL back to it. `push`: the view
// drawn is a new history entry (else it rewrites the current one).
async function reload(what = "load", note = "", push = STEPS.has(what)) {
  loads += 1;
  const load = loads;
  const start = performance.now();
  say(note ? `${note} Redrawing…` : "Loading…");
  try {
    const waiting = (attempt) => say(`The server is laying out this data version (once per version: layout and `
      + `communities)… still working, attempt ${attempt + 1}`);
    await checkCommunity();
    let result = await loadAll(state, probe.marks, waiting);
    if (load !== loads) return false;
    // an overview drawn on the defaults of a large network: asked again if they move it (the force layout's
    // positions were drawn under "map", and the same address reloaded gave the map's)
    if (result.meta.groupedBy && largeNetworkDefaults()) {
      result = await loadAll(state, probe.marks, waiting);
      if (load !== loads) return false;
    }
    if (result.unusable.length) {
      const unusable = new Set(result.unusable);
      state.expand = state.expand.filter((e) => !unusable.has(e));
      note = [note, `Expansion ${result.unusable.map((e) => `'${e}'`).join(", ")} left out: a link expands a node `
        + "by 1 or 2 hops ('id:1' or 'id:2')."].filter(Boolean).join(" ");
    }
    if (result.gone.length) {
      const gone = new Set(result.gone);
      const selected = gone.has(state.select);
      state.expand = state.expand.filter((e) => !gone.has(expansion(e).id));
      if (selected) state.select = "";
      note = [note, `${notInNetwork(result.gone)}: ${selected ? "selection cleared" : "left out of the view"}.`]
        .filter(Boolean).join(" ");
    }
    if (what === "filter" && state.select && !result.graph.hasNode(state.select)) {
      // a filter's view is what matches it: a selection outside it is cleared, not kept in by a pin
      const name = graph.hasNode(state.select) ? graph.getNodeAttribute(state.select, "label") : state.select;
      note = `${name} does not match this filter: selection cleared.`;
      state.select = "";
    }
    graph = result.graph;
    meta = result.meta;
    learnCommunities(meta);
    renderLegend(paint(graph, state, groupOf));
    probe.marks.painted = performance.now();
    pendingTiming = { what, start, load };
    if (!renderer) mount();
    frame();
    renderer.setGraph(graph); // one full refresh: index and draw the new graph
    // a small view (a cohort, a community, one city's neighbourhood) names every node there is room for; a
    // large one only those drawn at 7 px or more, one a grid cell, as names would bury the map. Set after the
    // graph (a setting moves the camera, which draws at once: the reducers would read the new graph's
    // selection against the old graph's edges), and only when it changes (each change redraws)
    for (const [key, value] of Object.entries(graph.order <= ALL_LABELS ? SMALL_VIEW_SETTINGS : LARGE_VIEW_SETTINGS)) {
      if (renderer.getSetting(key) !== value) renderer.setSetting(key, value);
    }
    probe.marks.mounted = performance.now();
    renderStatus();
    fillCountries();
    writeState(state, { push });
    settle();
    failed = false;
    for (const id of ["export-png", "export-gexf"]) $(id).disabled = false;
    if (!sectors) { // after the first frame: the view's request goes first
      sectors = true;
      fillSectors($("filter-sector"), $("sector-note")).then((done) => { sectors = done; });
    }
    if (graph.order === 0) note = [note, nothingDrawn()].filter(Boolean).join(" ");
    say(note);
    probe.loads = load;
    // the camera goes to a node opened or brought in for its selection (or by Back / Forward); other changes
    // leave it where it is
    // a new layout moves every node: a camera zoomed in for an earlier selection showed an arbitrary piece of
    // the new one (until 2026-12-07); it frames the selection, or the whole view
    const moving = ["load", "drill", "bring", "history", "layout"].includes(what);
    if (state.select) await select(state.select, { keepCamera: !moving });
    else {
      suggestions = []; $("panel").replaceChildren(); delete document.body.dataset.selected;
      $("tooltip").hidden = true;
      if (what === "layout") renderer.getCamera().animatedReset({ duration: 400 });
    }
    return true;
  } catch (error) {
    if (load !== loads) return false;
    // a link opened afresh with a filter value the network does not have: no view drawn to fall back to, so
    // the link's view is drawn without that value, saying which it was and why
    const dropped = what === "load" && !drawn ? dropArgument(error) : "";
    if (dropped) return reload(what, [note, dropped].filter(Boolean).join(" "), push);
    failed = true;
    if (drawn) {
      Object.assign(state, structuredClone(drawn));
      showState();
      writeState(state);
    }
    say(error.message, true, what === "filter" && changing ? `filter-${changing}` : null);
    return false;
  }
}

// The communities' range, as the page says it (with the panel's hint: a city's panel shows its community).
function communityRange(count) {
  if (count === null) return "communities are whole numbers, 0 or more (the panel of a city shows its own)";
  if (count === 0) return "this network has no community (nothing is in it yet)";
  return `this network's communities are whole numbers from 0 to ${(count - 1).toLocaleString("en")} (the panel of `
    + "a city shows its own)";
}

// A community filter that is not a community of this network is refused before the view is asked for, naming
// what was typed and the range there is: '1.5' was GraphQL's "Int cannot represent non-integer value", '1e309'
// (no number to the field) the whole network in silence, and '-1' or '99999' "Nothing matches these filters".
// The error names the filter as the API's would (a link opened with it is drawn without it, said so).
async function checkCommunity() {
  const text = state.community;
  if (text === "" || (drawn && text === drawn.community)) return;
  const refuse = (message) => new ApiError([{ message, extensions: { code: "BAD_USER_INPUT",
    argument: "filters.community" } }]);
  // not known from a view drawn: asked (one small request, not the view's); unanswered, the range is not said
  const count = communities && communities.version === meta?.dataVersion ? communities.count
    : await countCommunities().catch(() => null);
  if (!/^\d+$/.test(text)) throw refuse(`The community '${text}' is not a community's number: ${communityRange(count)}.`);
  if (count !== null && Number(text) >= count) throw refuse(`There is no community ${text}: ${communityRange(count)}.`);
}

const KINDS = ["City", "Challenge", "Cohort", "Partner"]; // the kinds communities are computed over (and leaders)

// A view of the whole network with its communities (the page opens on one, coloured by community) has them all.
function learnCommunities(view) {
  if (view.groupedBy || view.hiddenCount || FILTERS.some((key) => state[key] !== "")) return;
  if (!KINDS.every((kind) => state.kinds.includes(kind)) || view.nodes.some((n) => !("community" in n))) return;
  let last = -1;
  for (const node of view.nodes) last = Math.max(last, node.community ?? -1);
  communities = { count: last + 1, version: view.dataVersion };
}

// How many communities the network has, when no view has told: its cities grouped by community, and the
// communities of the other kinds (a challenge no city works on is a community of its own). null when they are
// too many to say.
async function countCommunities() {
  const data = await gql(`query Communities($first: Int!) {
    cities: networkView(filters: {kinds: ["City"]}, first: 1, layout: GEO, aggregateBy: COMMUNITY) {
      groupedBy dataVersion nodes { id community } }
    others: networkView(filters: {kinds: ["Challenge", "Cohort", "Partner"]}, first: $first, layout: GEO, aggregateBy: null) {
      hiddenCount nodes { community } } }`, { first: MAX_VIEW });
  if (data.others.hiddenCount) return null;
  let last = -1;
  for (const node of data.cities.nodes) {
    last = Math.max(last, data.cities.groupedBy ? Number(node.id.split(":")[1]) : node.community ?? -1);
  }
  for (const node of data.others.nodes) last = Math.max(last, node.community ?? -1);
  communities = { count: last + 1, version: data.cities.dataVersion };
  return communities.count;
}

// Ids a link names that the network does not have (any more), said with the likely reason.
function notInNetwork(ids) {
  const names = ids.map((id) => `'${id}'`).join(", ");
  return `${names} ${ids.length > 1 ? "are" : "is"} not in this network (the link is older than the data, or mistyped)`;
}

// networkView's arguments that a link sets (the API's error names one in extensions.argument): the state key
// that sets it, and what the page calls it.
const ARGUMENTS = {
  "filters.kinds": ["kinds", "unknown kind"], "filters.country": ["country", "country filter"],
  "filters.region": ["region", "region filter"], "filters.cohortId": ["cohort", "cohort filter"],
  "filters.challengeId": ["challenge", "challenge filter"], "filters.partnerSector": ["sector", "partner sector filter"],
  "filters.community": ["community", "community filter"],
  first: ["limit", "limit"],
};

// Drops from the state (and the controls) the link's value an API error is about; what to say about it, or ""
// when the error is about no value the link set (nothing dropped).
function dropArgument(error) {
  const [key, name] = ARGUMENTS[error.errors?.[0]?.extensions?.argument] || [];
  if (!key) return "";
  let value = structuredClone(DEFAULTS[key]);
  if (key === "kinds") { // the kinds the page knows stay
    const known = [...document.querySelectorAll("input[name=kind]")].map((box) => box.value);
    const kept = state.kinds.filter((kind) => known.includes(kind));
    if (kept.length) value = kept;
  }
  if (JSON.stringify(value) === JSON.stringify(state[key])) return "";
  state[key] = value;
  chosen.delete(key); // a dropped limit is the network's default again
  showState();
  const why = error.message.replace(/[^.?!]$/, "$&.").replace(/^The(re)? /, "the$1 "); // the page's own, after a colon
  return `The link's ${name} was dropped (the link is older than the data, or mistyped): ${why}`;
}

// Why a view drawn has no node, and what to do: a blank canvas said nothing.
function nothingDrawn() {
  if (!state.kinds.length) return "No kind is ticked: tick cities (or another kind) under Kinds to draw them.";
  if (FILTERS.some((key) => state[key] !== "")) {
    return "Nothing matches these filters: widen or clear one, or Reset view to see the whole network.";
  }
  return "This network is empty: nothing has been seeded or imported into the store yet "
    + "(citypeers seed, or citypeers import DIR).";
}

// A network too large to draw opens on an overview; what it drills into is drawn on the map, coloured by
// country and capped at DRILL nodes unless the URL says otherwise: the force layout and the communities of
// 100k cities take the server minutes to compute the first time (once per data version), the map and
// countries nothing, and a country of 15,000 cities with its 100,000 links takes the page ~0.85 s to draw.
// True when the layout changed (the view's positions with it).
function largeNetworkDefaults() {
  const layout = state.layout;
  for (const [key, value] of [["layout", "geo"], ["colour", "country"], ["limit", String(DRILL)]]) {
    if (chosen.has(key)) continue;
    state[key] = value;
    if ($(key)) $(key).value = value;
  }
  return state.layout !== layout;
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

// `push`: a selection by staff (a click, a search, a link, Escape), a history entry; a node not in view makes
// its entry once it is brought in.
async function select(id, { keepCamera = false, push = false } = {}) {
  const fresh = push || document.body.dataset.selected !== id; // the panel is about another node
  // a later selection wins over one still loading, and so does clearing it (Escape while the panel of a kept
  // selection reloaded: the late answer filled the panel again and selected the node anew)
  const ticket = ++selecting;
  state.select = id || "";
  suggestions = [];
  hovered = -1;
  $("tooltip").hidden = true; // it described a suggestion of the selection before (it stayed until the mouse moved)
  const panel = $("panel");
  if (id && !graph.hasNode(id)) { await bringIntoView(id, push); return; }
  writeState(state, { push });
  if (!id) {
    panel.replaceChildren();
    delete document.body.dataset.selected;
    renderer?.refresh({ skipIndexation: true });
    return;
  }
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
      renderSuggestions($("suggestions"), suggestions, { go, changed: (note) => reload("feedback", note), say });
    }
    // the title takes the focus (a screen reader reads it) when the node is new to the panel: a filter or a
    // token that redraws the same selection leaves the focus where staff are
    if (fresh) { announce(""); $("panel-title")?.focus({ preventScroll: true }); }
    clearError();
  } catch (error) {
    if (ticket !== selecting) return; // another selection (or none) since: this one's failure is not on screen
    say(error.message, true);
    // the node stays selected (highlighted, in the URL): the panel says so, not "Click a node..."
    panelFailed(id, fresh);
  }
  renderer.refresh({ skipIndexation: true }); // the reducers' highlight; positions and sizes are unchanged
  if (!keepCamera) {
    const target = framing([id, ...suggestions.map((s) => s.target)]);
    if (target) renderer.getCamera().animate(target, { duration: 400 });
  }
  document.body.dataset.selected = id;
}

// The camera that shows the selected node and its suggested peers whole: centred on them, zoomed in to 0.35
// where they fit (as close as a selection ever went) and out as far as they need, a margin of FRAME_MARGIN px
// kept. Until 2026-12-07 it zoomed to 0.35 on the node alone, and most of its suggestions' lines ran off the
// canvas to peers out of sight (Helsinki's five in the seeds).
const FRAME_MARGIN = 40;
function framing(ids) {
  const points = ids.map((n) => graph.hasNode(n) && renderer.getNodeDisplayData(n)).filter(Boolean);
  if (!points.length) return null;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const x = (Math.min(...xs) + Math.max(...xs)) / 2, y = (Math.min(...ys) + Math.max(...ys)) / 2;
  const { width, height } = renderer.getDimensions();
  const inside = (ratio) => points.every((p) => {
    const v = renderer.framedGraphToViewport(p, { cameraState: { x, y, ratio, angle: 0 } });
    return v.x >= FRAME_MARGIN && v.x <= width - FRAME_MARGIN && v.y >= FRAME_MARGIN && v.y <= height - FRAME_MARGIN;
  });
  let ratio = 0.35;
  while (!inside(ratio) && ratio < 2) ratio *= 1.2;
  return { x, y, ratio };
}

function panelFailed(id, fresh) {
  const title = document.createElement("h2");
  title.id = "panel-title";
  title.tabIndex = -1;
  title.textContent = graph.getNodeAttribute(id, "label");
  const why = document.createElement("p");
  why.className = "muted";
  why.textContent = "Its facts could not be loaded (the message above says why): select it again to retry.";
  $("panel").replaceChildren(title, why);
  if (fresh) { announce(""); title.focus({ preventScroll: true }); }
}

// Escape or a click on the background: the selection cleared, said to a screen reader (the focus says nothing).
function deselect() {
  const id = state.select;
  if (id) announce(`${graph.hasNode(id) ? graph.getNodeAttribute(id, "label") : id}: selection cleared.`);
  const lost = $("panel").contains(document.activeElement); // the panel's title, say: about to be removed
  select("", { push: true });
  // the focus goes to the search rather than to the page's top, where the panel's removal left it
  if (lost || document.activeElement === document.body) $("search").focus({ preventScroll: true });
}

// A node selected while not in view is brought in. On an overview, its country is opened (as a click on the
// country does), then the node is selected there; elsewhere its neighbourhood is added, once: a node that still
// is not in view after that (removed, or of a kind the view leaves out) is not asked for again.
async function bringIntoView(id, push) {
  const pinned = state.expand.some((e) => expansion(e).id === id) && !state.removed.includes(id);
  let why = `${id} could not be brought into this view.`;
  if (meta?.groupedBy === "COUNTRY") {
    const where = await whereIs(id).catch((error) => ({ error }));
    if (where.country) {
      if (await setFilter("country", where.country, "drill", push)) return;
      why = null; // the load's error is on screen
    } else if (where.missing) why = `${notInNetwork([id])}: selection cleared.`;
    else why = where.error?.message || `${where.name || id} is in no country of this overview: filter the view to find it.`;
  } else if (!pinned) {
    state.removed = state.removed.filter((r) => r !== id);
    state.expand = [...state.expand.filter((e) => expansion(e).id !== id), `${id}:1`];
    if (await reload("bring", "", push)) return;
    why = null; // the load's error is on screen
  }
  if (state.select !== id) return; // another node was selected meanwhile
  if (why) say(why, true);
  select("");
}

// A node's name and country (cities and partners have one), for a node not drawn.
async function whereIs(id) {
  const { node } = await gql(`query Where($id: ID!) { node(id: $id) {
    ... on City { name country } ... on Partner { name partnerCountry: country }
    ... on Challenge { name } ... on Cohort { name } ... on Leader { name } } }`, { id });
  return { name: node?.name, country: node?.country || node?.partnerCountry || null, missing: !node };
}

function go(id) { select(id, { push: true }); }

async function expand(id, hops) {
  state.expand = [...state.expand.filter((e) => expansion(e).id !== id), `${id}:${hops}`];
  await reload("expand");
}

function remove(id) {
  state.removed = [...new Set([...state.removed, id])];
  if (state.select === id) state.select = "";
  if (graph.hasNode(id)) graph.dropNode(id);
  suggestions = suggestions.filter((s) => s.target !== id && s.source !== id);
  repaint();
  renderStatus();
  writeState(state, { push: true });
  settle();
  if (!state.select) $("panel").replaceChildren();
}

// A filter's view: what matches it, without the neighbourhoods added before (expanded by hand, or to bring a
// selected node in). `what` is "drill" when opening a selected node's country: the selection is kept.
function setFilter(key, value, what = "filter", push = STEPS.has(what)) {
  state[key] = value;
  changing = key;
  const input = $(`filter-${key}`);
  if (input) input.value = value;
  state.expand = [];
  return reload(what, "", push);
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

// The controls that show the view's state (element id -> state key), and the filters among them.
const FILTERS = ["country", "region", "pop", "cohort", "challenge", "sector", "community"];
const INPUTS = { "filter-country": "country", "filter-region": "region", "filter-pop": "pop",
  "filter-cohort": "cohort", "filter-challenge": "challenge", "filter-sector": "sector",
  "filter-community": "community", layout: "layout", size: "size", colour: "colour" };

function showState() {
  for (const [id, key] of Object.entries(INPUTS)) if (key !== "sector") $(id).value = state[key];
  showSector($("filter-sector"), state.sector);
  for (const box of document.querySelectorAll("input[name=kind]")) box.checked = state.kinds.includes(box.value);
}

function controls() {
  const bind = (id, key, after = () => setFilter(key, state[key])) => {
    $(id).addEventListener("change", () => { state[key] = $(id).value.trim(); after(); });
  };
  for (const [value, label] of BANDS) $("filter-pop").append(new Option(label, value));
  showState();
  for (const [id, key] of Object.entries(INPUTS)) if (id.startsWith("filter-")) bind(id, key);
  // a field an error is about, put back on what is drawn or emptied (Enter on it, unchanged, fires no change):
  // the error goes (it stayed, about a value no longer anywhere)
  for (const [id, key] of Object.entries(INPUTS)) {
    if ($(id).tagName !== "INPUT") continue;
    const back = () => { if ($(id).value.trim() === state[key] || !$(id).value.trim()) clearAbout(id); };
    $(id).addEventListener("input", back);
    $(id).addEventListener("keydown", (event) => { if (event.key === "Enter") back(); });
  }
  bind("layout", "layout", () => reload("layout"));
  bind("size", "size", () => { repaint(); writeState(state, { push: true }); settle(); });
  // a colour needs its field in the view (asked for only then): whichever way it is chosen, as on opening
  bind("colour", "colour", () => {
    if (lacks(graph, state.colour)) reload("colour"); else { repaint(); writeState(state, { push: true }); settle(); }
  });
  for (const box of document.querySelectorAll("input[name=kind]")) {
    box.addEventListener("change", () => {
      setFilter("kinds", [...document.querySelectorAll("input[name=kind]:checked")].map((b) => b.value));
    });
  }
  $("filter-cohort").addEventListener("input", (e) => fillList("cohorts", "Cohort", e.target.value));
  $("groups-cohort").addEventListener("input", (e) => fillList("cohorts", "Cohort", e.target.value));
  $("filter-challenge").addEventListener("input", (e) => fillList("challenges", "Challenge", e.target.value));
  $("reset").addEventListener("click", () => { location.search = ""; });
  // a narrow window: the filters, legend and view options are a drawer, opened and closed by Controls
  $("menu").addEventListener("click", () => {
    $("menu").setAttribute("aria-expanded", String(document.body.classList.toggle("menu-open")));
  });
  // enabled once a view is drawn (reload)
  $("export-png").addEventListener("click", async () => download("citypeers-view.png", await pngBlob(renderer, overlay)));
  $("export-gexf").addEventListener("click", () => download("citypeers-view.gexf", gexf(graph)));
  tokens();
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
    if (event.key === "/" && !typing) { event.preventDefault(); $("search").focus(); $("search").select(); }
    if (event.key === "Escape" && !typing) deselect();
  });
  setupSearch({ input: $("search"), list: $("search-list"), graph: () => graph, choose: (id) => select(id, { push: true }),
    none: (q) => say(`No node or city matches '${q}': check its spelling, or search a part of the name.`, true, "search"),
    retyped: () => clearAbout("search") });
  const editor = new GroupsEditor($("groups"), {
    say,
    onChange: (membership) => { groupOf = membership && membership.size ? membership : null; repaint(); },
    onEdit: (ids) => { state.edited = JSON.stringify(ids); writeState(state); }, // the hand edit, in the URL
  });
  window.__explorer.groups = editor;
  return groupsForm(editor, state, { say, clearError, clearAbout });
}

// A token is kept for the tab. One the server refuses is dropped, said once beside the field, and the page
// browses without it; a change reloads what depends on it (the view if it failed, the selection's panel).
function tokens() {
  const field = $("token");
  const note = (text) => { $("token-note").textContent = text; field.setAttribute("aria-invalid", String(Boolean(text))); };
  field.value = token();
  onTokenRefused(() => { field.value = ""; note("This token was not accepted; browsing without it."); });
  field.addEventListener("change", async () => {
    setToken(field.value.trim());
    note("");
    if (token()) await gql("query Check { dataVersion }").catch(() => null); // a refused token is said now
    // the suggestion lists were filled once, before any token: on a server that needs one to browse they stayed
    // empty until a reload (2026-12-07)
    fillList("cohorts", "Cohort");
    fillList("challenges", "Challenge");
    if (failed || !meta) reload("token");
    else if (state.select) select(state.select, { keepCamera: true });
  });
}

// Back and Forward: the entry's view, drawn as its link would open it, without a new entry. The learning groups
// are a what-if beside the navigation: they stay as they are (and the entry's URL is rewritten to say so).
async function restore() {
  const wanted = readState();
  for (const key of GROUPS) wanted[key] = state[key];
  const selected = state.select;
  const same = (key) => drawn && JSON.stringify(wanted[key]) === JSON.stringify(drawn[key]);
  Object.assign(state, wanted);
  showState();
  if (failed || VIEW.some((k) => !["colour", "size"].includes(k) && !same(k)) || lacks(graph, state.colour)) {
    await reload("history"); // selects the entry's node once drawn
    return;
  }
  if (!same("colour") || !same("size")) { repaint(); settle(); }
  if (state.select !== selected) await select(state.select);
  else writeState(state);
}

// A link's value of a menu (layout, colour, size, population band) that the menu does not offer, or a limit or
// community that is not a whole number in range (typed by hand or mistyped: the page writes only values it
// offers). The API is never asked about the menus' values, and a limit of 0, a word, or a community that is not
// a number read as none, so each was ignored in silence (a blank menu, an unfiltered view). Each is dropped
// before the first view and said with what the page offers.
function unoffered() {
  const notes = [];
  const drop = (key, name, valid) => {
    notes.push(`The link's ${name} '${state[key]}' was dropped: ${valid}.`);
    state[key] = structuredClone(DEFAULTS[key]);
    chosen.delete(key);
  };
  for (const key of ["layout", "colour", "size"]) { // each the state's key and its menu's id
    const offered = [...$(key).options].map((o) => [o.value, o.textContent]);
    if (!offered.some(([value]) => value === state[key])) drop(key, key, `it is one of ${listed(offered)}`);
  }
  if (!BANDS.some(([value]) => value === state.pop)) {
    drop("pop", "population band", `it is one of ${listed(BANDS.filter(([value]) => value))}`);
  }
  const whole = (text, low, high) => /^\d+$/.test(text.trim()) && Number(text) >= low && Number(text) <= high;
  if (!whole(state.limit, 1, MAX_VIEW)) {
    drop("limit", "limit", `it is a whole number of nodes from 1 to ${MAX_VIEW.toLocaleString("en")}`);
  }
  if (state.community !== "" && !whole(state.community, 0, Number.MAX_SAFE_INTEGER)) {
    drop("community", "community", "it is a community's number, 0 or more (the panel of a city shows its own)");
  }
  if (notes.length) writeState(state); // rewrites the link's entry without them
  return notes.join(" ");
}

// "'force', 'geo' (map)": a menu's values, each with its label where the two differ.
function listed(options) {
  return options.map(([value, label]) => (value === label ? `'${value}'` : `'${value}' (${label})`)).join(", ");
}

const unofferedNote = unoffered();
const propose = controls();
window.addEventListener("popstate", restore);
reload("load", unofferedNote).then(() => {
  if (state.groups) propose();
  fillList("cohorts", "Cohort"); // after the first frame: the view's request goes first
  fillList("challenges", "Challenge");
});
