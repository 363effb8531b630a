// Search by name with suggestions (an ARIA combobox): nodes in view first, then cities from the server.
import { gql } from "./api.js";

// the largest cities first: a short query matches hundreds of the 12k of a real network, and by id the one meant
// (Roma among the Romanas) was not among the first 8
const CITIES = `query Search($q: String!) { cities(search: $q, first: 8, orderBy: {field: POPULATION, direction: DESC}) {
  edges { node { id name country population } } } }`;
const MAX = 8;

// How well a label matches the query: 0 the whole label, 1 its start, 2 a word's start, 3 elsewhere, null not at all.
function rank(label, q) {
  const text = label.toLowerCase();
  let at = text.indexOf(q);
  if (at < 0) return null;
  if (text === q) return 0;
  if (at === 0) return 1;
  for (; at > 0; at = text.indexOf(q, at + 1)) if (!/[\p{L}\p{N}]/u.test(text[at - 1])) return 2;
  return 3;
}

// Best matches first (then the larger city, the better connected node), stable for equal ones.
function byMatch(a, b) {
  return a.rank - b.rank || b.population - a.population || b.degree - a.degree || a.label.localeCompare(b.label);
}

// `none(q)`: nothing matches q (Enter on it did nothing, over an empty list); `retyped()`: the query changed.
export function setupSearch({ input, list, graph, choose, none = () => {}, retyped = () => {} }) {
  let items = [];
  let active = -1;
  let asked = 0;
  let answering = Promise.resolve(); // the suggestions being completed (the server's cities)
  let unmatched = ""; // a query the suggestions are complete for, and empty

  function render() {
    if (!items.length && unmatched) { // said in the list, as an option that cannot be chosen
      const li = document.createElement("li");
      li.className = "none";
      li.setAttribute("role", "option");
      li.setAttribute("aria-disabled", "true");
      li.textContent = `No node or city matches '${unmatched}'`;
      list.replaceChildren(li);
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      input.setAttribute("aria-activedescendant", "");
      return;
    }
    list.replaceChildren(...items.map((item, k) => {
      const li = document.createElement("li");
      li.id = `suggestion-${k}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(k === active));
      // a city in view with its country, as the server's are: GCoM has 28 names used by more than one city
      // ("Bergen City | Bergen City", NO and NL, until 2026-12-07)
      li.textContent = item.country ? `${item.label} (${item.country}) ` : `${item.label} `;
      const small = document.createElement("small");
      small.textContent = item.inView ? item.kind : `${item.kind} · not in view`;
      li.append(small);
      li.addEventListener("mousedown", (event) => { event.preventDefault(); pick(k); });
      return li;
    }));
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", String(items.length > 0));
    input.setAttribute("aria-activedescendant", active >= 0 ? `suggestion-${active}` : "");
  }

  function pick(k) {
    const item = items[k];
    if (!item) return;
    items = [];
    render();
    input.value = item.label;
    choose(item.id, item.inView);
  }

  async function suggest() {
    const q = input.value.trim().toLowerCase();
    const ask = ++asked;
    unmatched = "";
    if (!q) { items = []; render(); return; }
    const g = graph();
    // every node in view is ranked (12k labels take a few ms): the first 8 found were often not the one meant
    const local = [];
    g.forEachNode((id, a) => {
      const r = rank(a.label, q);
      if (r !== null) {
        local.push({ id, label: a.label, kind: a.kind, inView: true, rank: r, population: a.data.population || 0,
          degree: a.data.degree || 0, country: a.kind === "City" ? a.data.country : null });
      }
    });
    items = local.sort(byMatch).slice(0, MAX);
    active = items.length ? 0 : -1;
    render();
    try {
      const data = await gql(CITIES, { q });
      if (ask !== asked) return;
      const seen = new Set(items.map((i) => i.id));
      // the server's, largest first, ranked as the local ones (a city whose name is the query before the rest)
      const found = data.cities.edges.filter(({ node }) => !seen.has(node.id))
        .map(({ node }) => ({ id: node.id, label: `${node.name} (${node.country})`, kind: "City",
          inView: g.hasNode(node.id), rank: rank(node.name, q) ?? 3, population: node.population || 0, degree: 0 }));
      items.push(...found.sort(byMatch).slice(0, 10 - items.length));
      if (active < 0 && items.length) active = 0;
      render();
    } catch (error) { /* local suggestions stay */ }
    if (ask !== asked) return;
    if (!items.length) { unmatched = input.value.trim(); render(); }
    list.dataset.answered = q; // the suggestions for q are complete (tests wait for it)
  }

  input.addEventListener("input", () => { retyped(); answering = suggest(); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!items.length) return;
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      render();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (items.length) { pick(active >= 0 ? active : 0); return; }
      const q = input.value.trim();
      // the server's cities may still be on their way: Enter picks the first of them, or says there is none
      if (q) {
        answering.then(() => {
          if (input.value.trim() !== q) return;
          if (items.length) pick(active >= 0 ? active : 0); else none(q);
        });
      }
    } else if (event.key === "Escape") {
      items = [];
      unmatched = "";
      render();
    }
  });
  // the list closes a moment after the field loses the focus (a click on a suggestion lands first), unless the
  // field has it again by then: focused anew and typed in within 100 ms, its new suggestions were cleared, and
  // Enter found none (a test met it under load once Escape left the focus on the search, 2026-12-07)
  input.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement === input) return;
    items = []; unmatched = ""; render();
  }, 100));
}
