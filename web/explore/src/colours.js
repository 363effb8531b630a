// Categorical colours (readable on white, distinct for the common colour-blindnesses first), the legend's.
export const PALETTE = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#ee7733", "#009988",
  "#cc3311", "#33bbee", "#997700", "#6699cc"];
export const OTHER = "#b8b8b8";
export const KIND_COLOURS = { City: "#4477aa", Challenge: "#ee7733", Cohort: "#228833", Partner: "#aa3377",
  Leader: "#997700", Country: "#4477aa", Community: "#4477aa" };

// value -> colour for the most frequent values (each counted once, or by its weight); the rest share OTHER.
// Returns {colourOf, legend}.
export function categorical(values, names = (v) => v, weights = null) {
  const counts = new Map();
  values.forEach((v, k) => {
    if (v !== null && v !== undefined && v !== "") counts.set(v, (counts.get(v) || 0) + (weights ? weights[k] : 1));
  });
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
    .slice(0, PALETTE.length);
  const colour = new Map(top.map(([v], i) => [v, PALETTE[i]]));
  const shown = top.reduce((n, [, c]) => n + c, 0);
  const total = [...counts.values()].reduce((n, c) => n + c, 0);
  const legend = top.map(([v, c]) => ({ colour: colour.get(v), label: names(v), count: c, value: v }));
  if (total > shown) legend.push({ colour: OTHER, label: "other", count: total - shown });
  return { colourOf: (v) => colour.get(v) || OTHER, legend };
}
