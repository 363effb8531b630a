// Loading a view: one networkView request (plus one per expanded node), merged into a graphology graph.
import Graph from "graphology";
import { gql } from "./api.js";
import { band } from "./state.js";

export const MAX_VIEW = 20000; // more matching nodes than this: the server answers an overview
const FIELDS = "id kind label x y size degree country region population sector mainCohort mainChallenge";

const QUERY = (community) => `query View($filters: NetworkFilters, $focus: [ID!], $hops: Int!, $first: Int!,
    $layout: ViewLayout!, $by: ViewGrouping) {
  networkView(filters: $filters, focus: $focus, hops: $hops, first: $first, layout: $layout, aggregateBy: $by) {
    totalCount hiddenCount groupedBy dataVersion edgeKinds edgeIndex
    nodes { ${FIELDS}${community ? " community" : ""} }
  }
}`;

export function filtersOf(state) {
  const { minPopulation, maxPopulation } = band(state.pop);
  return {
    kinds: state.kinds, country: state.country || null, region: state.region || null, minPopulation, maxPopulation,
    cohortId: state.cohort || null, challengeId: state.challenge || null, partnerSector: state.sector || null,
    community: state.community === "" ? null : Number(state.community),
  };
}

export async function fetchView(state, { focus = null, hops = 1 } = {}) {
  const community = state.colour === "community" || state.community !== "";
  const data = await gql(QUERY(community), {
    filters: filtersOf(state), focus, hops, first: MAX_VIEW, layout: state.layout === "geo" ? "GEO" : "FORCE",
    by: "COUNTRY",
  });
  return data.networkView;
}

// Add a networkView answer to the graph (nodes already there keep their attributes).
export function merge(graph, view, removed = new Set()) {
  for (const node of view.nodes) {
    if (removed.has(node.id) || graph.hasNode(node.id)) continue;
    graph.addNode(node.id, { x: node.x, y: node.y, label: node.label, kind: node.kind, data: node });
  }
  const ids = view.nodes.map((n) => n.id);
  const index = view.edgeIndex;
  for (let k = 0; k < index.length; k += 3) {
    const source = ids[index[k]];
    const target = ids[index[k + 1]];
    const kind = view.edgeKinds[index[k + 2]];
    if (!graph.hasNode(source) || !graph.hasNode(target) || source === target) continue;
    const key = source < target ? `${source}|${target}|${kind}` : `${target}|${source}|${kind}`;
    if (!graph.hasEdge(key)) graph.addEdgeWithKey(key, source, target, { kind });
  }
}

export function newGraph() {
  return new Graph({ type: "undirected", multi: false });
}

// Everything a view shows, from the state: the filtered slice, then each expanded neighbourhood.
export async function loadAll(state) {
  const removed = new Set(state.removed);
  const base = await fetchView(state);
  const graph = newGraph();
  merge(graph, base, removed);
  let shown = base;
  if (!base.groupedBy) {
    for (const entry of state.expand) {
      const [id, hops] = entry.split(":");
      merge(graph, await fetchView(state, { focus: [id], hops: Number(hops || 1) }), removed);
    }
  } else {
    shown = base;
  }
  return { graph, meta: shown };
}
