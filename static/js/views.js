// Which view the page shows, from its URL and the hosts the server knows: one host's
// dashboard (?host=db-1) or the fleet overview (?view=fleet, or no host named while there
// are several); the URL of each view; and the order of a host's cards. Pure (no DOM).

const HOST = "host";
const VIEW = "view";
const FLEET = "fleet";

// The built-in collectors in the order their cards appear (the README's table); others
// (plugins) follow in the order they appear.
export const COLLECTOR_ORDER = ["cpu", "memory", "load", "disk", "filesystem", "network",
  "processes", "cgroups", "sensors"];
// The process table sits after the memory charts: on a wall screen "what is using the
// machine" belongs next to CPU and memory.
const TABLE_AFTER = "memory";
const TABLE = "processes";

/** A collector's place among the built-ins (COLLECTOR_ORDER); any other name after them. */
export function collectorRank(name) {
  const i = COLLECTOR_ORDER.indexOf(name);
  return i < 0 ? COLLECTOR_ORDER.length : i;
}

/** What the URL's query asks for: {host} (a name or null) and {fleet} (?view=fleet). */
export function requestedView(search) {
  const params = new URLSearchParams(search);
  const host = params.get(HOST) || null;
  return { host, fleet: !host && params.get(VIEW) === FLEET };
}

/**
 * The view to show: {kind: "host", host}, {kind: "fleet"} or {kind: "wait"} (nothing to
 * show yet). `hosts`: the names the server serves (null: not known yet); `own`: this
 * process's host when it collects itself (its charts can start before the list is known).
 */
export function chooseView(requested, hosts, own = null) {
  if (requested.host) return { kind: "host", host: requested.host };
  if (requested.fleet) return { kind: "fleet" };
  if (hosts && hosts.length > 1) return { kind: "fleet" };
  if (hosts && hosts.length === 1) return { kind: "host", host: hosts[0] };
  return own ? { kind: "host", host: own } : { kind: "wait" };
}

export function sameView(a, b) {
  return Boolean(a && b) && a.kind === b.kind && a.host === b.host;
}

/**
 * The address of a view, keeping the rest of the query (?window=...): `?host=<name>` for a
 * host; for the fleet no host, and `?view=fleet` unless the overview is what a bare URL
 * shows anyway (`fleetByDefault`). Returned as path + query, for history.pushState.
 */
export function viewUrl(href, view, { fleetByDefault = false } = {}) {
  const url = new URL(href);
  if (view.kind === "host") {
    url.searchParams.set(HOST, view.host);
    url.searchParams.delete(VIEW);
  } else {
    url.searchParams.delete(HOST);
    if (fleetByDefault) url.searchParams.delete(VIEW);
    else url.searchParams.set(VIEW, FLEET);
  }
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * Where each collector's cards go in a host's grid: `known` is an order to keep (the
 * collectors this process runs, as its config lists them); without it the built-ins'
 * order, and any other name after them in the order asked for. `table`: the process table's
 * place.
 */
export function cardOrder(known = []) {
  const slots = new Map(known.map((name, i) => [name, i]));
  let next = known.length;
  if (!known.length) {
    COLLECTOR_ORDER.forEach((name, i) => slots.set(name, i));
    next = COLLECTOR_ORDER.length;
  }
  const of = (name) => {
    if (!slots.has(name)) slots.set(name, next++);
    return slots.get(name);
  };
  const after = known.length && !known.includes(TABLE_AFTER) ? TABLE : TABLE_AFTER;
  return { of, table: of(after) + 0.5 };
}
