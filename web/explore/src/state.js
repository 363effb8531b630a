// The view's state lives in the URL (query string), so a link reopens the same view, and each deliberate step
// is a history entry, so that Back and Forward step through the views.
const LISTS = ["kinds", "expand", "removed"];
export const DEFAULTS = {
  layout: "force", colour: "community", size: "degree", kinds: ["City", "Challenge", "Cohort", "Partner"],
  country: "", region: "", pop: "", cohort: "", challenge: "", sector: "", community: "",
  select: "", expand: [], removed: [], groups: "", sizes: "4-6", countries: "1", edited: "",
  limit: "20000", // nodes drawn at most; past it the view opens as an overview
};

export function readState(search = location.search) {
  const params = new URLSearchParams(search);
  const state = structuredClone(DEFAULTS);
  for (const key of Object.keys(DEFAULTS)) {
    if (!params.has(key)) continue;
    const value = params.get(key);
    state[key] = LISTS.includes(key) ? value.split(",").filter(Boolean) : value;
  }
  return state;
}

// The address of a state: its values that differ from the defaults.
function addressOf(state) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    const text = Array.isArray(value) ? value.join(",") : String(value ?? "");
    const base = Array.isArray(DEFAULTS[key]) ? DEFAULTS[key].join(",") : DEFAULTS[key];
    if (key in DEFAULTS && text !== base) params.set(key, text);
  }
  const query = params.toString();
  return query ? `${location.pathname}?${query}` : location.pathname;
}

// `push`: a deliberate step (a selection, a filter, a colour, a layout): a new history entry, so that Back
// returns to the view before it. Anything else (what a step settles to, a failed change put back, the learning
// groups) rewrites the current entry. An address already current makes no entry.
export function writeState(state, { push = false } = {}) {
  const address = addressOf(state);
  if (address === location.pathname + location.search) return;
  if (push) history.pushState(null, "", address);
  else history.replaceState(null, "", address);
}

// Population bands offered by the filter ("min-max", either side may be empty).
export const BANDS = [["", "any size"], ["-50000", "under 50k"], ["50000-250000", "50k-250k"],
  ["250000-1000000", "250k-1M"], ["1000000-", "over 1M"]];

export function band(text) {
  const [low, high] = (text || "").split("-");
  return { minPopulation: low ? Number(low) : null, maxPopulation: high ? Number(high) : null };
}

// An expansion in the URL, "id:hops": split at the last colon, as ids may hold colons ("nl:utrecht"; split
// at the first until 2026-12-07, which asked for hops null). Hops are 1 or 2, as the panel's buttons offer;
// anything else is null.
export function expansion(entry) {
  const at = entry.lastIndexOf(":");
  const hops = at < 0 ? "1" : entry.slice(at + 1);
  return { id: at < 0 ? entry : entry.slice(0, at), hops: hops === "1" || hops === "2" ? Number(hops) : null };
}
