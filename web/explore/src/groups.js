// Learning groups, what-if: cohortGroups proposes, staff drag cities between groups, the server scores the edit
// (scoreGrouping: the same objective as cohortGroups), and the grouping exports as CSV.
import { gql } from "./api.js";
import { download } from "./exporting.js";
import { el } from "./panel.js";
import { writeState } from "./state.js";

const GROUP_FIELDS = "groups { affinity cities { id name country } sharedChallenges { id name } }";
const PROPOSE = `query Propose($cohort: ID!, $min: Int!, $max: Int!, $countries: Int!) {
  cohortGroups(cohortId: $cohort, minSize: $min, maxSize: $max, minCountries: $countries) {
    objective randomObjective ${GROUP_FIELDS} } }`;
const SCORE = `query Score($cohort: ID!, $groups: [[ID!]!]!, $min: Int!, $max: Int!, $countries: Int!) {
  scoreGrouping(cohortId: $cohort, groups: $groups, minSize: $min, maxSize: $max, minCountries: $countries) {
    objective ${GROUP_FIELDS} violations { constraint message group cityIds } } }`;

// "4-6" or "5" (the default 4-6 when empty) as {min, max}; anything else is refused in words, before any request.
export function sizesOf(text) {
  const match = (text || "4-6").trim().match(/^(\d+)\s*(?:-\s*(\d+))?$/);
  if (!match) throw new Error(`Sizes must be whole numbers: one size (5) or a range (4-6), not "${text}".`);
  return { min: Number(match[1]), max: Number(match[2] ?? match[1]) };
}

function countriesOf(text) {
  if (!/^\s*\d*\s*$/.test(String(text ?? ""))) throw new Error(`Min countries must be a whole number, not "${text}".`);
  return Number(text) || 1;
}

export class GroupsEditor {
  constructor(root, { onChange, onEdit, say }) {
    this.root = root;
    this.onChange = onChange; // (Map city -> group index) | null
    this.onEdit = onEdit; // (the grouping as lists of city ids) after a hand edit
    this.say = say;
    this.groups = null; // [[{id, name, country}]]
    this.result = null;
    this.proposed = null;
  }

  async propose(cohort, sizes, countries) {
    const { min, max } = sizesOf(sizes);
    const params = { cohort, min, max, countries: countriesOf(countries) };
    const data = await gql(PROPOSE, params);
    this.params = params;
    this.proposed = data.cohortGroups;
    this.groups = data.cohortGroups.groups.map((g) => g.cities.map((c) => ({ ...c })));
    this.result = { objective: data.cohortGroups.objective, groups: data.cohortGroups.groups, violations: [] };
    this.render();
  }

  clear() {
    this.groups = null;
    this.result = null;
    this.root.replaceChildren();
    this.onChange(null);
  }

  async move(cityId, to) {
    const from = this.groups.findIndex((g) => g.some((c) => c.id === cityId));
    if (from < 0 || from === to || to < 0 || to >= this.groups.length) return;
    const city = this.groups[from].find((c) => c.id === cityId);
    this.groups[from] = this.groups[from].filter((c) => c.id !== cityId);
    this.groups[to] = [...this.groups[to], city];
    await this.score();
    document.querySelector(`[data-city="${CSS.escape(cityId)}"]`)?.focus();
  }

  // Apply a grouping saved in the URL (lists of city ids) to the proposed one's cities, and score it.
  async apply(ids) {
    const cities = new Map(this.groups.flat().map((c) => [c.id, c]));
    const known = ids.map((g) => g.filter((id) => cities.has(id)));
    if (known.flat().length !== cities.size) return; // the cohort changed since: keep the proposal
    this.groups = known.map((g) => g.map((id) => cities.get(id)));
    await this.score();
  }

  async score() {
    this.render(true);
    try {
      const data = await gql(SCORE, { ...this.params, groups: this.groups.map((g) => g.map((c) => c.id)) });
      this.result = data.scoreGrouping;
      this.say("");
    } catch (error) {
      this.say(error.message, true);
    }
    this.render();
    this.onEdit(this.groups.map((g) => g.map((c) => c.id)));
  }

  membership() {
    const out = new Map();
    (this.groups || []).forEach((g, k) => g.forEach((c) => out.set(c.id, k)));
    return out;
  }

  // The groups as a CSV file for a spreadsheet, as the reports write theirs (graph/cells.py): a byte order
  // mark so that Excel reads UTF-8, and text that a spreadsheet would run as a formula (=, +, -, @, a tab or
  // a carriage return first) after a single quote, as is text starting with a quote itself.
  csv() {
    const rows = [["group", "city_id", "city_name", "country"]];
    this.groups.forEach((g, k) => g.forEach((c) => rows.push([k + 1, c.id, c.name, c.country])));
    const cell = (v) => {
      const text = typeof v === "string" && /^[=+\-@\t\r']/.test(v) ? `'${v}` : String(v ?? "");
      return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    };
    return "\ufeff" + rows.map((r) => r.map(cell).join(",")).join("\n") + "\n";
  }

  render(pending = false) {
    if (!this.groups) return;
    const r = this.result;
    const broken = new Map();
    for (const v of r?.violations || []) if (v.group !== null) broken.set(v.group, [...(broken.get(v.group) || []), v]);
    const boxes = this.groups.map((members, k) => {
      const box = el("div", { class: `group${broken.has(k) ? " broken" : ""}`, "data-group": k,
        ondragover: (e) => e.preventDefault(),
        ondrop: (e) => { e.preventDefault(); this.move(e.dataTransfer.getData("text/plain"), k); } },
      el("h4", {}, `Group ${k + 1}`, el("small", {}, r?.groups[k] ? ` affinity ${r.groups[k].affinity.toFixed(2)}` : "")),
      ...members.map((c) => el("button", { type: "button", class: "chip", draggable: "true", "data-city": c.id,
        title: "Drag to another group, or press its number (arrow keys: next / previous group)",
        ondragstart: (e) => e.dataTransfer.setData("text/plain", c.id),
        onkeydown: (e) => {
          const number = Number(e.key);
          if (number >= 1 && number <= this.groups.length) this.move(c.id, number - 1);
          else if (e.key === "ArrowRight") this.move(c.id, k + 1);
          else if (e.key === "ArrowLeft") this.move(c.id, k - 1);
        } }, `${c.name} (${c.country})`)),
      el("p", { class: "shared" }, r?.groups[k] ? `Shared: ${r.groups[k].sharedChallenges.map((s) => s.name).join(", ") || "nothing yet"}` : ""));
      return box;
    });
    const ratio = this.proposed && this.proposed.randomObjective > 0 ? this.proposed.objective / this.proposed.randomObjective : null;
    const summary = el("p", { class: "objective", "aria-live": "polite" },
      pending ? "Scoring…" : `Objective ${r.objective.toFixed(3)}`,
      el("small", {}, ` (proposed ${this.proposed.objective.toFixed(3)}${ratio ? `, ${ratio.toFixed(2)}x random` : ""})`));
    const violations = (r?.violations || []).map((v) => el("li", { "data-constraint": v.constraint }, v.message));
    this.root.replaceChildren(summary,
      violations.length ? el("ul", { class: "violations" }, ...violations) : el("p", { class: "ok" }, "Every constraint holds."),
      el("div", { class: "groups" }, ...boxes));
    this.root.dataset.objective = pending ? "" : String(r.objective);
    this.onChange(this.membership());
  }
}

// The learning-groups form over `editor`: cohort, sizes and minimum countries; Propose, Clear, CSV. Its fields
// and the URL follow the grouping drawn: a proposal that fails leaves both as they were. Returns propose.
export function groupsForm(editor, state, { say, clearError }) {
  const field = (name) => document.getElementById(`groups-${name}`);
  const show = () => {
    field("cohort").value = state.groups;
    field("sizes").value = state.sizes;
    field("countries").value = state.countries;
  };
  let shown = { groups: "", sizes: state.sizes, countries: state.countries }; // the grouping drawn
  let edited = state.edited; // a hand-edited grouping from the URL, applied once on top of the proposal
  const clear = () => {
    shown = { ...shown, groups: "" };
    Object.assign(state, { groups: "", edited: "" });
    show();
    writeState(state);
    editor.clear();
  };
  const propose = async () => {
    const asked = { groups: field("cohort").value.trim(), sizes: field("sizes").value.trim() || "4-6",
      countries: field("countries").value || "1" };
    if (!asked.groups) { clear(); return; }
    try {
      await editor.propose(asked.groups, asked.sizes, asked.countries);
      shown = asked;
      Object.assign(state, asked, { edited: "" });
      writeState(state);
      clearError();
      if (edited) await editor.apply(JSON.parse(edited));
    } catch (error) {
      Object.assign(state, shown, shown.groups ? {} : { edited: "" });
      show();
      writeState(state);
      say(error.message, true);
    }
    edited = "";
  };
  show();
  field("propose").addEventListener("click", propose);
  field("clear").addEventListener("click", clear);
  field("csv").addEventListener("click", () => {
    if (editor.groups) download(`groups-${state.groups}.csv`, new Blob([editor.csv()], { type: "text/csv" }));
  });
  return propose;
}
