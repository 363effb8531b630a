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

export async function pngBlob(renderer, drawOverlay) {
  const canvas = await drawOnCanvas(renderer, {
    backgroundColor: "#ffffff",
    withTempRenderer: (tmp) => {
      tmp.createCanvasContext("suggestions");
      tmp.resize(true);
      drawOverlay(tmp, tmp.getCanvases().suggestions.getContext("2d"));
    },
  });
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

const KEEP = ["kind", "country", "region", "population", "sector", "community", "degree", "mainCohort", "mainChallenge", "size"];

export function gexf(graph) {
  const out = newGraph();
  graph.forEachNode((id, a) => {
    const attrs = { label: a.label, x: a.x, y: a.y, size: a.size, color: a.color };
    for (const key of KEEP) if (a.data[key] !== null && a.data[key] !== undefined) attrs[key] = a.data[key];
    out.addNode(id, attrs);
  });
  graph.forEachEdge((key, a, source, target) => out.addEdgeWithKey(key, source, target, { kind: a.kind }));
  return new Blob([write(out, { formatNode: (key, attrs) => {
    const { label, x, y, size, color, ...rest } = attrs;
    return { label, attributes: rest, viz: { color, size, position: { x, y, z: 0 } } };
  }, formatEdge: (key, attrs) => ({ attributes: attrs }) })], { type: "application/xml" });
}
