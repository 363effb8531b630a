// Colour and size: what the legend explains.
import { gql } from "./api.js";
import { categorical, KIND_COLOURS, OTHER } from "./colours.js";

function valueFor(mode, data) {
  switch (mode) {
    case "community": return data.community;
    case "country":
      if (data.kind === "Country") return data.id.slice("country:".length);
      return data.kind === "City" || data.kind === "Partner" ? data.country : null;
    case "cohort": return data.kind === "Cohort" ? data.id : data.mainCohort;
    case "challenge": return data.kind === "Challenge" ? data.id : data.mainChallenge;
    default: return data.kind;
  }
}

// Names of the cohorts and challenges a legend showed as ids, from the API (kept for the page's life).
const NAMED = new Map();
const NAMES = (n) => `query Names(${[...Array(n).keys()].map((k) => `$i${k}: ID!`).join(", ")}) {
  ${[...Array(n).keys()].map((k) => `n${k}: node(id: $i${k}) { id ... on Cohort { name } ... on Challenge { name } }`).join("\n  ")}
}`;

// The legend's rows with the names of the unnamed ones (see colourNodes).
export async function nameLegend(rows) {
  const ids = [...new Set(rows.filter((r) => r.unnamed && !NAMED.has(r.value)).map((r) => r.value))];
  if (ids.length) {
    const data = await gql(NAMES(ids.length), Object.fromEntries(ids.map((id, k) => [`i${k}`, id])));
    ids.forEach((id, k) => NAMED.set(id, data[`n${k}`]?.name || id));
  }
  return rows.map((r) => (r.unnamed ? { ...r, label: NAMED.get(r.value), unnamed: false } : r));
}

export function nodeSize(mode, data) {
  if (data.kind === "Country" || data.kind === "Community") return Math.min(40, 4 + 1.2 * Math.sqrt(data.size));
  if (mode === "population" && data.kind === "City") {
    return data.population ? Math.min(10, 1.5 + Math.sqrt(data.population) / 250) : 1.5;
  }
  if (mode === "population") return 2.5;
  return Math.min(12, 1.5 + Math.sqrt(data.degree));
}

// Sets color and size on every node; returns the legend rows.
export function paint(graph, state, groupOf = null) {
  const legend = colourNodes(graph, state, groupOf);
  graph.forEachNode((id, a) => graph.setNodeAttribute(id, "zIndex", -Math.round(a.size)));
  return legend;
}

function colourNodes(graph, { colour, size }, groupOf) {
  const labels = new Map();
  graph.forEachNode((id, a) => labels.set(id, a.label));
  if (groupOf) {
    const { colourOf, legend } = categorical([...groupOf.values()], (g) => `group ${g + 1}`);
    legend.sort((a, b) => a.label.localeCompare(b.label, "en", { numeric: true }));
    graph.forEachNode((id, a) => {
      graph.mergeNodeAttributes(id, {
        color: groupOf.has(id) ? colourOf(groupOf.get(id)) : "#dddddd", size: nodeSize(size, a.data),
      });
    });
    return legend;
  }
  if (colour === "kind") {
    const kinds = new Set();
    graph.forEachNode((id, a) => {
      kinds.add(a.data.kind);
      graph.mergeNodeAttributes(id, { color: KIND_COLOURS[a.data.kind] || OTHER, size: nodeSize(size, a.data) });
    });
    return [...kinds].sort().map((k) => ({ colour: KIND_COLOURS[k] || OTHER, label: k, count: null }));
  }
  const values = [];
  const weights = []; // an overview's node stands for its cities
  graph.forEachNode((id, a) => {
    values.push(valueFor(colour, a.data));
    weights.push(a.kind === "Country" || a.kind === "Community" ? a.data.size : 1);
  });
  const names = (v) => (colour === "community" ? `community ${v}` : labels.get(v) || NAMED.get(v) || v);
  const { colourOf, legend } = categorical(values, names, weights);
  // a cohort or challenge colouring cities while not in view itself: nameLegend asks the API for its name
  for (const row of legend) {
    row.unnamed = (colour === "cohort" || colour === "challenge") && row.value !== undefined
      && !labels.has(row.value) && !NAMED.has(row.value);
  }
  graph.forEachNode((id, a) => {
    const value = valueFor(colour, a.data);
    graph.mergeNodeAttributes(id, {
      color: value === null || value === undefined ? "#d0d0d0" : colourOf(value), size: nodeSize(size, a.data),
    });
  });
  return legend;
}

export function edgeColour(kind) {
  return { PEERS_WITH: "#555555", LINK: "#9aa7b8" }[kind] || "#d9d9d9";
}

export function edgeSize(kind) {
  return { PEERS_WITH: 1.6, LINK: 1.2 }[kind] || 0.6;
}
