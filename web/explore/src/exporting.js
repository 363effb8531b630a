// Export the current view: PNG (what is on screen, suggestions included) and GEXF (Gephi opens it).
import { drawOnCanvas } from "@sigma/export-image";
import { write } from "graphology-gexf/browser";
import { newGraph } from "./view.js";

export function download(name, blob) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// The layers are stacked in the order of the screen's (the suggestions over the nodes, as there): drawOnCanvas
// stacks them in the order they were created otherwise. The temporary renderer draws again once its overlay
// is sized (resizing clears every layer: the labels were lost).
export async function pngBlob(renderer, drawOverlay) {
  const layers = [...renderer.getContainer().querySelectorAll("canvas")].map((c) => c.className.replace(/^sigma-/, ""));
  const canvas = await drawOnCanvas(renderer, {
    backgroundColor: "#ffffff", layers,
    withTempRenderer: (tmp) => {
      tmp.createCanvasContext("suggestions", { afterLayer: "nodes" });
      tmp.resize(true);
      tmp.refresh();
      drawOverlay(tmp, tmp.getCanvases().suggestions.getContext("2d"));
    },
  });
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

const KEEP = ["kind", "country", "region", "population", "sector", "community", "degree", "mainCohort", "mainChallenge"];

// Nodes with their drawn position, size and colour (GEXF's viz: graphology-gexf reads viz.x / viz.y / viz.z)
// and their data as attributes; an overview node's count of cities as "cities".
export function gexf(graph) {
  const out = newGraph();
  graph.forEachNode((id, a) => {
    const attrs = { label: a.label, viz: { x: a.x, y: a.y, z: 0, size: a.size, color: a.color } };
    for (const key of KEEP) if (a.data[key] !== null && a.data[key] !== undefined) attrs[key] = a.data[key];
    if (a.kind === "Country" || a.kind === "Community") attrs.cities = a.data.size;
    out.addNode(id, attrs);
  });
  graph.forEachEdge((key, a, source, target) => out.addEdgeWithKey(key, source, target, { kind: a.kind }));
  const xml = write(out, { formatNode: (key, { label, viz, ...attributes }) => ({ label, attributes, viz }),
    formatEdge: (key, attrs) => ({ attributes: attrs }) });
  // graphology-gexf 0.13.2 declares GEXF 1.2's viz namespace as "http:///www.gexf.net/1.1draft/viz": Gephi
  // reads the viz elements by their local names, a namespace-aware reader (networkx) finds none under it
  return new Blob([xml.replace('xmlns:viz="http:///www.gexf.net/1.1draft/viz"', 'xmlns:viz="http://www.gexf.net/1.2draft/viz"')],
    { type: "application/xml" });
}
