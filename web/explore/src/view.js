// Loading a view: one networkView request (plus one per expanded node), merged into a graphology graph.
import Graph from "graphology";
import { gql } from "./api.js";
import { edgeColour, edgeSize } from "./appearance.js";
import { band, expansion } from "./state.js";

export const MAX_VIEW = 20000; // more matching nodes than this (or than ?limit=): the server answers an overview
// On a network too large to open whole, a drill draws at most this many nodes (the best connected), so that an
// update stays interactive (<= 0.3 s on the 2-core machine with room for its noise; docs/explorer.md, "Scale").
export const DRILL = 3000;
const FIELDS = "id kind label x y size degree country population";
// fields only some colourings need, asked for only then (a 10k-city view is ~15% smaller without them)
const EXTRA = { community: "community", cohort: "mainCohort", challenge: "mainChallenge" };

const QUERY = (extra) => `query View($filters: NetworkFilters, $focus: [ID!], $hops: Int!, $first: Int!,
    $layout: ViewLayout!, $by: ViewGrouping) {
  networkView(filters: $filters, focus: $focus, hops: $hops, first: $first, layout: $layout, aggregateBy: $by) {
    totalCount hiddenCount groupedBy dataVersion edgeKinds edgeIndex
    nodes { ${FIELDS}${extra} }
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

// A new data version's layout and communities are computed once, on the server (seconds at 10k cities, more
// than a request's deadline on large graphs): a TIMEOUT is asked again while that work goes on.
export async function fetchView(state, { focus = null, hops = 1, waiting = () => {} } = {}) {
  const extra = new Set([EXTRA[state.colour], state.community !== "" ? "community" : null].filter(Boolean));
  const variables = {
    filters: filtersOf(state), focus, hops, first: Math.min(MAX_VIEW, Number(state.limit) || MAX_VIEW), layout: state.layout === "geo" ? "GEO" : "FORCE",
    // past `first` matching nodes: an overview by country, unless the view is one country already; then its
    // `first` best-connected nodes, and the count of the rest
    by: state.country ? null : "COUNTRY",
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return (await gql(QUERY([...extra].map((f) => ` ${f}`).join("")), variables)).networkView;
    } catch (error) {
      if (error.code !== "TIMEOUT" || attempt >= 60) throw error;
      waiting(attempt);
      // a pause first: a TIMEOUT answered at once (by a proxy, say) was asked again 60 times in 4 s
      await new Promise((resolve) => { setTimeout(resolve, 1000); });
    }
  }
}

// Whether the view was loaded without a field the colour `mode` needs (asked for only when needed): then the
// colour is changed by loading the view again, as a page opened with that colour would.
export function lacks(graph, mode) {
  const field = EXTRA[mode];
  return Boolean(field) && graph.someNode((id, a) => !(field in a.data));
}

// Add a networkView answer to the graph (nodes already there keep their attributes).
export function merge(graph, view, removed = new Set()) {
  for (const node of view.nodes) {
    if (removed.has(node.id) || graph.hasNode(node.id)) continue;
    graph.addNode(node.id, { x: node.x, y: node.y, label: node.label, kind: node.kind, data: node });
  }
  const ids = view.nodes.map((n) => n.id);
  const index = view.edgeIndex;
  const style = view.edgeKinds.map((kind) => ({ kind, color: edgeColour(kind), size: edgeSize(kind) }));
  const fresh = graph.size === 0 && removed.size === 0;
  for (let k = 0; k < index.length; k += 3) {
    const source = ids[index[k]];
    const target = ids[index[k + 1]];
    const kind = style[index[k + 2]];
    // one edge a pair (PEERS_WITH may run both ways); removed nodes are not in the graph
    const check = !fresh || kind.kind === "PEERS_WITH";
    if (check && (!graph.hasNode(source) || !graph.hasNode(target) || graph.hasEdge(source, target))) continue;
    graph.addEdge(source, target, { kind: kind.kind, color: kind.color, size: kind.size });
  }
}

export function newGraph() {
  return new Graph({ type: "undirected", multi: false });
}

// Everything a view shows, from the state: the filtered slice, then each expanded neighbourhood. `gone`: the
// expanded nodes the network no longer has (a link older than the data): left out, not a failed view.
export async function loadAll(state, marks = {}, waiting = () => {}) {
  const removed = new Set(state.removed);
  marks.asked = performance.now();
  const base = await fetchView(state, { waiting });
  marks.answered = performance.now();
  const graph = newGraph();
  merge(graph, base, removed);
  marks.built = performance.now();
  const gone = [], unusable = [];
  if (!base.groupedBy) {
    for (const entry of state.expand) {
      const { id, hops } = expansion(entry);
      if (hops === null) { unusable.push(entry); continue; } // a link's bad value: dropped and said, the rest drawn
      try {
        merge(graph, await fetchView(state, { focus: [id], hops }), removed);
      } catch (error) {
        if (error.code !== "NOT_FOUND") throw error;
        gone.push(id);
      }
    }
  }
  return { graph, meta: base, gone, unusable };
}
