// The partner-sector filter's menu: the sectors some partner of the store is in, from one request of six counts
// (after the first frame); a store without partners has nothing to filter by, and the menu says so, disabled.
import { gql } from "./api.js";

// graph.model.PARTNER_SECTORS, in its order
const SECTORS = ["business", "nonprofit", "university", "philanthropy", "public-agency", "network"];
const COUNTS = `query Sectors { ${SECTORS.map((s, k) => `s${k}: partners(sector: "${s}", first: 0) { totalCount }`)
  .join(" ")} }`;

// Show `value` in the menu, offering it if the menu does not (a link's sector, before or without the counts).
export function showSector(menu, value) {
  if (value && ![...menu.options].some((o) => o.value === value)) menu.append(new Option(value, value));
  menu.value = value;
}

// True once the menu lists the sectors there are (false when the counts could not be had: asked again later).
export async function fillSectors(menu, note) {
  const data = await gql(COUNTS).catch(() => null);
  if (!data) return false;
  const value = menu.value; // the state's, as shown meanwhile
  const present = SECTORS.filter((s, k) => data[`s${k}`].totalCount > 0);
  menu.replaceChildren(new Option("any", ""), ...present.map((s) => new Option(s, s)));
  if (value && !present.includes(value)) menu.append(new Option(`${value} (no partner)`, value));
  menu.value = value;
  const none = !present.length;
  menu.disabled = none && !value; // a link's sector stays clearable
  note.textContent = none ? "No partner in this store yet: nothing to filter by." : "";
  note.hidden = !none;
  return true;
}
