// Recommended peers on the graph: dashed edges from the selected city to its top suggestions (recommendPeers),
// each with score, signals and reason on hover; dismiss or mark met (editor token) from the panel.
import { gql, token } from "./api.js";
import { el, nodeLink } from "./panel.js";

const PEERS = `query Peers($id: ID!) { recommendPeers(cityId: $id, first: 5, excludeKnown: true) {
  score reason city { id name country } signals { name value contribution } sharedChallenges { name }
} }`;
const FEEDBACK = (name) => `mutation Feedback($city: ID!, $peer: ID!) { ${name}(cityId: $city, peerId: $peer) {
  __typename ... on Linked { kind } ... on ValidationError { message } ... on NotFoundError { message } } }`;

export async function fetchSuggestions(cityId) {
  const data = await gql(PEERS, { id: cityId });
  return data.recommendPeers.map((m) => ({ source: cityId, target: m.city.id, name: m.city.name, score: m.score,
    reason: m.reason, signals: m.signals, shared: m.sharedChallenges.map((c) => c.name) }));
}

function ends(renderer, s) {
  const a = renderer.getNodeDisplayData(s.source);
  const b = renderer.getNodeDisplayData(s.target);
  if (!a || !b) return null;
  return [renderer.framedGraphToViewport(a), renderer.framedGraphToViewport(b)];
}

// The line between the two cities' discs (drawn over the nodes, it stops at their rims), or null when they touch.
function between(renderer, s, line) {
  const [p, q] = line;
  const length = Math.hypot(q.x - p.x, q.y - p.y);
  const from = renderer.scaleSize(renderer.getNodeDisplayData(s.source).size) / length;
  const to = 1 - renderer.scaleSize(renderer.getNodeDisplayData(s.target).size) / length;
  if (!(from < to)) return null;
  const at = (t) => ({ x: p.x + t * (q.x - p.x), y: p.y + t * (q.y - p.y) });
  return [at(from), at(to)];
}

export function drawSuggestions(renderer, ctx, suggestions, hovered = -1) {
  const { width, height } = renderer.getDimensions();
  ctx.clearRect(0, 0, width, height);
  ctx.save();
  ctx.setLineDash([7, 5]);
  suggestions.forEach((s, k) => {
    const full = ends(renderer, s);
    const line = full && between(renderer, s, full);
    if (!line) return;
    ctx.strokeStyle = k === hovered ? "#7a0019" : "#cc3311";
    ctx.lineWidth = k === hovered ? 3.5 : 2.2;
    ctx.beginPath();
    ctx.moveTo(line[0].x, line[0].y);
    ctx.lineTo(line[1].x, line[1].y);
    ctx.stroke();
  });
  ctx.restore();
}

// Index of the suggestion drawn within `tolerance` px of (x, y), or -1.
export function suggestionAt(renderer, suggestions, x, y, tolerance = 6) {
  let best = -1;
  let bestDistance = tolerance;
  suggestions.forEach((s, k) => {
    const line = ends(renderer, s);
    if (!line) return;
    const [p, q] = line;
    const dx = q.x - p.x;
    const dy = q.y - p.y;
    const t = Math.max(0, Math.min(1, ((x - p.x) * dx + (y - p.y) * dy) / (dx * dx + dy * dy || 1)));
    const distance = Math.hypot(x - (p.x + t * dx), y - (p.y + t * dy));
    if (distance < bestDistance) { best = k; bestDistance = distance; }
  });
  return best;
}

export function describe(s) {
  const signals = s.signals.filter((x) => x.contribution > 0)
    .map((x) => `${x.name} ${x.contribution.toFixed(3)}`).join(", ");
  return `${s.name}: score ${s.score.toFixed(3)}\n${signals}\n${s.reason}`;
}

export function renderSuggestions(root, suggestions, { go, changed, say }) {
  if (!root) return;
  const rows = suggestions.map((s) => el("li", { "data-peer": s.target },
    nodeLink(s.target, s.name, go), ` ${s.score.toFixed(3)}`, el("br"), el("small", {}, s.reason), el("br"),
    el("button", { type: "button", class: "met", onclick: () => feedback("markMet", s) }, "Mark met"),
    el("button", { type: "button", class: "dismiss", onclick: () => feedback("dismissMatch", s) }, "Dismiss")));
  root.replaceChildren(el("h3", {}, "Suggested peers (dashed)"),
    suggestions.length ? el("ul", {}, ...rows) : el("p", { class: "muted" }, "No suggestion for this city."));

  async function feedback(mutation, s) {
    const needsToken = "Marking met or dismissing needs an editor token: paste one in the Token field at the top.";
    if (!token()) {
      say(needsToken, true);
      return;
    }
    try {
      const data = await gql(FEEDBACK(mutation), { city: s.source, peer: s.target });
      const result = data[mutation];
      if (result.__typename !== "Linked") { say(result.message, true); return; }
      // the note stays on screen through the reload that draws the change
      await changed(mutation === "markMet" ? `${s.name} marked as met: now a peer link.` : `${s.name} dismissed.`);
    } catch (error) {
      // UNAUTHENTICATED: the token was refused on the way (api.js dropped it and asked again without one)
      say(error.code === "UNAUTHENTICATED" ? needsToken
        : error.code === "FORBIDDEN" ? "Marking met or dismissing needs an editor token; this token can only read. "
          + "Paste an editor token in the Token field at the top." : error.message, true);
    }
  }
}
