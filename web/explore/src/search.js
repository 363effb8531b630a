// Search by name with suggestions (an ARIA combobox): nodes in view first, then cities from the server.
import { gql } from "./api.js";

const CITIES = `query Search($q: String!) { cities(search: $q, first: 8) { edges { node { id name country } } } }`;

export function setupSearch({ input, list, graph, choose }) {
  let items = [];
  let active = -1;
  let asked = 0;

  function render() {
    list.replaceChildren(...items.map((item, k) => {
      const li = document.createElement("li");
      li.id = `suggestion-${k}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(k === active));
      li.textContent = `${item.label} `;
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
    if (!q) { items = []; render(); return; }
    const g = graph();
    const local = [];
    g.forEachNode((id, a) => {
      if (local.length < 8 && a.label.toLowerCase().includes(q)) local.push({ id, label: a.label, kind: a.kind, inView: true });
    });
    local.sort((a, b) => a.label.toLowerCase().startsWith(q) ? -1 : b.label.toLowerCase().startsWith(q) ? 1 : 0);
    items = local;
    active = items.length ? 0 : -1;
    render();
    try {
      const data = await gql(CITIES, { q });
      if (ask !== asked) return;
      const seen = new Set(items.map((i) => i.id));
      for (const { node } of data.cities.edges) {
        if (!seen.has(node.id) && items.length < 10) {
          items.push({ id: node.id, label: `${node.name} (${node.country})`, kind: "City", inView: g.hasNode(node.id) });
        }
      }
      if (active < 0 && items.length) active = 0;
      render();
    } catch (error) { /* local suggestions stay */ }
  }

  input.addEventListener("input", suggest);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!items.length) return;
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      render();
    } else if (event.key === "Enter") {
      event.preventDefault();
      pick(active >= 0 ? active : 0);
    } else if (event.key === "Escape") {
      items = [];
      render();
    }
  });
  input.addEventListener("blur", () => setTimeout(() => { items = []; render(); }, 100));
}
