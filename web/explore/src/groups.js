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

// The largest group the form asks for: a learning group is a handful of cities, and past 2^31 GraphQL's Int
// refused the request in its own words ("Variable '$min' has invalid value...").
export const MAX_SIZE = 1000;
const LIKE = "write a range like 4-6, or one size like 5";

// A refusal of what was typed in one of the form's fields (`field`: its id), said before any request.
function refused(field, text) {
  const error = new Error(text);
  error.field = `groups-${field}`;
  return error;
}

// "4-6" or "5" (the default 4-6 when empty) as {min, max}: each size a whole number from 1 to MAX_SIZE, the
// smallest first. Anything else is refused in words naming what was typed (the CLI's --size says the same).
export function sizesOf(text) {
  const typed = String(text ?? "").trim() || "4-6";
  const match = typed.match(/^(\d+)\s*(?:(-)\s*(\d*))?$/);
  if (!match || (match[2] && !match[3])) {
    const missing = match ? "has no largest size" : "is not a size range";
    throw refused("sizes", `Sizes '${typed}' ${missing}; ${LIKE}.`);
  }
  const min = Number(match[1]);
  const max = Number(match[3] || match[1]);
  if (min < 1) throw refused("sizes", `Sizes '${typed}': a group has at least 1 city; ${LIKE}.`);
  if (max > MAX_SIZE) {
    throw refused("sizes", `Sizes '${typed}': a group has at most ${MAX_SIZE.toLocaleString("en")} cities; ${LIKE}.`);
  }
  if (min > max) throw refused("sizes", `Sizes '${typed}' puts the smallest size above the largest; write ${max}-${min}.`);
  return { min, max };
}

// The minimum of countries a group (1 when empty): a whole number from 1 to MAX_SIZE (0 was taken as 1, while
// the CLI and the API refuse it).
export function countriesOf(text) {
  const typed = String(text ?? "").trim() || "1";
  if (/^[-+]?\d+$/.test(typed) && Number(typed) < 1) {
    throw refused("countries", `Min countries '${typed}': ${Number(typed)} countries per group is not a minimum `
      + "one can ask for; use 1 (any countries) or more.");
  }
  if (!/^\+?\d+$/.test(typed)) {
    throw refused("countries", `Min countries '${typed}' is not a whole number; use 1 (any countries) or more.`);
  }
  if (Number(typed) > MAX_SIZE) {
    throw refused("countries", `Min countries '${typed}': a group has at most ${MAX_SIZE.toLocaleString("en")} `
      + "cities, so as many countries at most; use 1 (any countries) or more.");
  }
  return Number(typed);
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
// and the URL follow the grouping drawn: a proposal that fails leaves both as they were (with no grouping drawn,
// the fields keep what was typed, to be corrected), and says so. Returns propose.
export function groupsForm(editor, state, { say, clearError, clearAbout }) {
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
    for (const name of ["cohort", "sizes", "countries"]) clearAbout(`groups-${name}`); // nothing drawn is refused now
    // a refused proposal's message said the groups drawn before were still drawn: no longer (it stayed, 2026-12-07)
    if (document.getElementById("messages").textContent.includes("The groups drawn are still")) clearError();
  };
  // What a refused proposal leaves drawn, said after why it was refused: the groups drawn before, if any (their
  // colours stay on the network), so that the message does not read as if they were the ones just asked for.
  const still = () => (shown.groups ? ` The groups drawn are still the ones proposed before (cohort `
    + `'${shown.groups}', sizes ${shown.sizes}, at least ${shown.countries} ${shown.countries === "1" ? "country" : "countries"} a group).` : "");
  const propose = async () => {
    const asked = { groups: field("cohort").value.trim(), sizes: field("sizes").value.trim() || "4-6",
      countries: field("countries").value.trim() || "1" };
    try {
      if (!asked.groups) {
        throw Object.assign(new Error("Pick a cohort first: type its id in the Cohort field of Learning groups (the "
          + "list suggests them), then Propose groups."), { field: "groups-cohort" });
      }
      await editor.propose(asked.groups, asked.sizes, asked.countries);
      shown = asked;
      Object.assign(state, asked, { edited: "" });
      writeState(state);
      clearError();
      if (edited) await editor.apply(JSON.parse(edited));
    } catch (error) {
      Object.assign(state, shown, shown.groups ? {} : { edited: "" });
      if (shown.groups) show(); // else nothing is drawn for the fields to follow: what was typed stays, to correct
      writeState(state);
      const after = still();
      say(after ? `${error.message.replace(/[^.?!]$/, "$&.")}${after}` : error.message, true, error.field || null);
    }
    edited = "";
  };
  show();
  field("propose").addEventListener("click", propose);
  field("clear").addEventListener("click", clear);
  field("csv").addEventListener("click", () => {
    if (editor.groups) download(`groups-${state.groups}.csv`, new Blob([editor.csv()], { type: "text/csv" }));
    else say("No learning groups are drawn to export: propose groups first.", true); // it did nothing, unsaid
  });
  return propose;
}
