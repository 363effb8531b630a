// Colour and size: what the legend explains.
import { categorical, KIND_COLOURS, OTHER } from "./colours.js";

function valueFor(mode, data) {
  switch (mode) {
    case "community": return data.community;
    case "country": return data.kind === "City" || data.kind === "Partner" ? data.country : null;
    case "cohort": return data.kind === "Cohort" ? data.id : data.mainCohort;
    case "challenge": return data.kind === "Challenge" ? data.id : data.mainChallenge;
    default: return data.kind;
  }
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
  graph.forEachNode((id, a) => values.push(valueFor(colour, a.data)));
  const names = (v) => (colour === "community" ? `community ${v}` : labels.get(v) || v);
  const { colourOf, legend } = categorical(values, names);
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
