// Node labels that do not write over each other. sigma's label grid keeps the largest node's label in each
// 100 px cell, but a long name runs on into the next cell ("Harvard Kennedy School" over "Housing"). A label
// whose box meets another's is left out (its node still shows it on hover). In a small view sigma is asked for
// every label (SMALL_VIEW_SETTINGS) and the boxes are placed in order of importance: the forced labels (the
// selected node, its suggested peers), then the largest nodes first. In a large view, only nodes drawn at
// LARGE px or more are labelled, one a grid cell, each placed unless it meets one drawn before it in the
// frame. sigma draws a frame's labels in one synchronous pass, so a frame ends with that pass.
import { drawDiscNodeLabel } from "sigma/rendering";

export const LARGE = 7; // px: the labelRenderedSizeThreshold of a large view
export const LARGE_VIEW_SETTINGS = { labelRenderedSizeThreshold: LARGE, labelDensity: 0.8 };
export const SMALL_VIEW_SETTINGS = { labelRenderedSizeThreshold: 0, labelDensity: 1000 }; // every label
const frames = new WeakMap(); // a labels canvas -> the boxes taken in the frame being drawn
const last = new WeakMap(); // a labels canvas -> the boxes drawn in its last frame (labelBoxes, for tests)

// A label goes right of its node, or left of it where the right would run past the canvas's edge (sigma's
// labels were cut there) and the left has room.
function boxOf(context, settings, label, x, y, size, key) {
  context.font = `${settings.labelWeight} ${settings.labelSize}px ${settings.labelFont}`;
  const w = context.measureText(label).width;
  const width = context.canvas.width / (context.getTransform().a || 1); // in CSS px: the context is scaled
  const left = x + size + 3 + w > width - 2 && x - size - 3 - w >= 2;
  return { key, x: left ? x - size - 3 - w : x + size + 3, y: y - 0.6 * settings.labelSize, w,
    h: 1.1 * settings.labelSize, drawn: false, left };
}

const meets = (a, b) => a.x < b.x + b.w + 2 && b.x < a.x + a.w + 2 && a.y < b.y + b.h && b.y < a.y + a.h;

// Where the labels of a small view go: every node with a label, forced ones first, then the largest, each
// placed unless it meets one placed before (a pass over every node: small views only).
function placed(renderer, context, settings) {
  const wanted = [];
  renderer.getGraph().forEachNode((key) => {
    const d = renderer.getNodeDisplayData(key);
    if (d && !d.hidden && d.label) wanted.push({ key, d, size: renderer.scaleSize(d.size) });
  });
  wanted.sort((a, b) => (b.d.forceLabel ? 1 : 0) - (a.d.forceLabel ? 1 : 0) || b.size - a.size
    || (a.key < b.key ? -1 : 1));
  const boxes = [];
  for (const { key, d, size } of wanted) {
    const at = renderer.framedGraphToViewport(d);
    const box = boxOf(context, settings, d.label, at.x, at.y, size, key);
    if (d.forceLabel || !boxes.some((b) => meets(box, b))) boxes.push(box);
  }
  return boxes;
}

// sigma's defaultDrawNodeLabel for the renderer `owner()` returns (and any other, first come first drawn: the
// PNG export's); `small()`: whether the view drawn is a small one.
export function labelDrawer(owner, small) {
  return (context, data, settings) => {
    if (!data.label) return;
    let frame = frames.get(context);
    if (!frame) {
      const renderer = owner();
      const planned = small() && renderer && renderer.getCanvases().labels?.getContext("2d") === context;
      frame = { planned, boxes: planned ? placed(renderer, context, settings) : [] };
      frames.set(context, frame);
      queueMicrotask(() => { last.set(context, frame.boxes.filter((b) => b.drawn)); frames.delete(context); });
    }
    let box = frame.boxes.find((b) => b.key === data.key);
    if (!box) {
      if (frame.planned && !data.forceLabel) return; // no room for it
      box = boxOf(context, settings, data.label, data.x, data.y, data.size, data.key);
      if (!data.forceLabel && frame.boxes.some((b) => meets(box, b))) return;
      frame.boxes.push(box);
    }
    box.drawn = true; // sigma writes the label from data.x + data.size + 3: moved so that it starts at box.x
    drawDiscNodeLabel(context, box.left ? { ...data, x: box.x - data.size - 3 } : data, settings);
  };
}

// The label boxes drawn in the last frame on `renderer`'s labels canvas.
export function labelBoxes(renderer) {
  const context = renderer?.getCanvases().labels?.getContext("2d");
  return context ? (last.get(context) || []).map(({ key, x, y, w, h }) => ({ key, x, y, w, h })) : [];
}
