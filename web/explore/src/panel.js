// The side panel: a node's facts and relationships from the API, and links to its neighbours in view.
import { gql, token } from "./api.js";

const CITY = `query City($id: ID!) { city(id: $id) {
  id name country region population latitude longitude provenance
  challenges { challenge { id name } priority note }
  cohorts { cohort { id name partners { partner { id name sector } role } } role year }
  partners { id name sector }
  leaders { id name role title }
  knownPeers { id name }
} }`;
const CONTACTS = `query Contacts($id: ID!) { city(id: $id) { leaders { id contact } } }`;
const NODE = `query Node($id: ID!) { node(id: $id) {
  id
  ... on Challenge { name description parent { id name } children { id name } }
  ... on Partner { name sector country website challenges { id name } }
  ... on Cohort { name programme start end description }
  ... on Leader { name role title cities { id name } }
} }`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function fact(dl, term, value) {
  if (value === null || value === undefined || value === "") return;
  dl.append(el("dt", {}, term), el("dd", {}, String(value)));
}

function section(title, rows) {
  if (!rows.length) return null;
  return el("section", {}, el("h3", {}, title), el("ul", {}, ...rows.map((r) => el("li", {}, ...r))));
}

// A city's partners: those it partners with directly, then those working with it through one of its cohorts
// (members of the cohort: organisers, faculty, funders), each once, marked with the cohort and its role there.
function partnerRows(city, link) {
  const rows = new Map(city.partners.map((p) => [p.id, [...link(p), ` ${p.sector}`]]));
  for (const { cohort } of city.cohorts) {
    for (const { partner, role } of cohort.partners) {
      if (!rows.has(partner.id)) rows.set(partner.id, [...link(partner), ` ${partner.sector}`]);
      rows.get(partner.id).push(`, ${role || "member"} of `, ...link(cohort));
    }
  }
  return [...rows.values()];
}

// A link to a node: a button that selects it (in view) or brings it into view.
export function nodeLink(id, label, go) {
  return el("button", { type: "button", class: "link", "data-node": id, onclick: () => go(id) }, label);
}

export async function showNode(root, id, { graph, go, expand, remove }) {
  const g = graph();
  const attrs = g.hasNode(id) ? g.getNodeAttributes(id) : null;
  const kind = attrs?.kind || "City";
  root.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  const header = el("header", {},
    el("h2", { id: "panel-title", tabindex: "-1" }, attrs?.label || id), el("p", { class: "muted" }, kind));
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", onclick: () => expand(id, 1) }, "Expand 1 hop"),
    el("button", { type: "button", onclick: () => expand(id, 2) }, "Expand 2 hops"),
    el("button", { type: "button", onclick: () => remove(id) }, "Remove from view"));
  const dl = el("dl", { class: "facts" });
  const parts = [];
  const link = (n) => [nodeLink(n.id, n.name, go)];
  if (kind === "Country" || kind === "Community") {
    fact(dl, "cities", attrs.data.size);
    root.replaceChildren(header, dl, el("p", {}, "An overview node: open it to see its cities."));
    return;
  }
  if (kind === "City") {
    const { city } = await gql(CITY, { id });
    if (!city) { root.replaceChildren(header, el("p", {}, `No city ${id}.`)); return; }
    fact(dl, "id", city.id);
    fact(dl, "country", city.country);
    fact(dl, "region", city.region);
    fact(dl, "population", city.population?.toLocaleString("en"));
    if (city.latitude !== null) fact(dl, "coordinates", `${city.latitude.toFixed(3)}, ${city.longitude.toFixed(3)}`);
    fact(dl, "community", attrs?.data.community);
    fact(dl, "source", city.provenance);
    let contacts = new Map();
    if (token()) {
      const answer = await gql(CONTACTS, { id }, { partial: true }).catch(() => null);
      if (answer?.data?.city && !answer.errors.length) contacts = new Map(answer.data.city.leaders.map((l) => [l.id, l.contact]));
    }
    const byPriority = [...city.challenges].sort((a, b) => (a.priority ?? 99) - (b.priority ?? 99));
    parts.push(
      section("Challenges", byPriority.map((c) => [...link(c.challenge), c.priority ? ` priority ${c.priority}` : "",
        c.note ? el("small", {}, ` ${c.note}`) : null])),
      section("Cohorts", city.cohorts.map((m) => [...link(m.cohort), ` ${m.role || "member"}${m.year ? `, ${m.year}` : ""}`])),
      section("Partners", partnerRows(city, link)),
      section("Leaders", city.leaders.map((l) => [...link(l), ` ${l.title || l.role}`,
        contacts.get(l.id) ? el("small", { class: "contact" }, ` ${contacts.get(l.id)}`) : null])),
      section("Known peers", city.knownPeers.map(link)),
    );
    if (city.leaders.length && !contacts.size) parts.push(el("p", { class: "muted" }, "Contact details: admin token only."));
  } else {
    const { node } = await gql(NODE, { id });
    if (!node) { root.replaceChildren(header, el("p", {}, `No node ${id}.`)); return; }
    for (const key of ["sector", "country", "programme", "start", "end", "role", "title", "website", "description"]) fact(dl, key, node[key]);
    if (node.parent) parts.push(section("Part of", [link(node.parent)]));
    if (node.children?.length) parts.push(section("Sub-challenges", node.children.map(link)));
    if (node.challenges?.length) parts.push(section("Works on", node.challenges.map(link)));
    if (node.cities?.length) parts.push(section("Cities", node.cities.map(link)));
  }
  const inView = attrs ? g.neighbors(id).slice(0, 60).map((n) => [nodeLink(n, g.getNodeAttribute(n, "label"), go),
    el("small", {}, ` ${g.getNodeAttribute(n, "kind")}`)]) : [];
  const neighbours = section(`Neighbours in view (${attrs ? g.degree(id) : 0})`, inView);
  root.replaceChildren(header, actions, dl, ...parts.filter(Boolean), neighbours || "",
    el("div", { id: "suggestions" }));
}

export { el };
