// The hosts the server serves: GET /api/hosts now and every few seconds (each host with its
// collectors, which appear one by one as an agent's first samples come in), and the host
// picker in the top bar that switches between them or back to the overview.

import { sortHosts } from "./fleetdata.js";

const POLL_MS = 5000;

export class HostList {
  /** onHosts([{host, last_seen, stale, collectors}]) after every successful poll. */
  constructor({ onHosts, intervalMs = POLL_MS }) {
    this.onHosts = onHosts;
    this.intervalMs = intervalMs;
    this.timer = 0;
  }

  start() {
    this.poll();
  }

  /** Ask now (something suggests the list changed), then keep the usual pace. */
  refresh() {
    clearTimeout(this.timer);
    this.poll();
  }

  async poll() {
    clearTimeout(this.timer);
    try {
      const response = await fetch("/api/hosts", { cache: "no-store",
        headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const hosts = await response.json();
      if (Array.isArray(hosts)) this.onHosts(hosts);
    } catch {
      // The connection badge and the health strip say the server is away; try again later.
    } finally {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.poll(), this.intervalMs);
    }
  }
}

/**
 * The picker: a link back to the overview and a select of the hosts (stale ones say so).
 * onChoose({kind: "host", host} or {kind: "fleet"}).
 */
export class HostPicker {
  constructor({ nav, select, fleetLink, onChoose }) {
    this.nav = nav;
    this.select = select;
    this.fleetLink = fleetLink;
    this.onChoose = onChoose;
    this.shown = "";
    select.addEventListener("change", () => {
      const host = select.value;
      this.onChoose(host ? { kind: "host", host } : { kind: "fleet" });
    });
    fleetLink.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      this.onChoose({ kind: "fleet" });
    });
  }

  /**
   * hosts: [{host, stale}]; view: the one shown; fleetHref: the overview's address. With one
   * host and its dashboard shown, the picker stays hidden: the page looks as it always did.
   */
  show(hosts, view, fleetHref) {
    const names = sortHosts(new Set([...hosts.map((h) => h.host),
      ...(view.kind === "host" ? [view.host] : [])]));
    const stale = new Set(hosts.filter((h) => h.stale).map((h) => h.host));
    this.nav.hidden = names.length < 2 && view.kind !== "fleet";
    this.fleetLink.href = fleetHref;
    this.fleetLink.hidden = view.kind === "fleet";
    const key = JSON.stringify([names, [...stale]]);
    if (key !== this.shown) {
      this.shown = key;
      const overview = new Option("All hosts", "");
      this.select.replaceChildren(overview, ...names.map((name) => {
        const option = new Option(stale.has(name) ? `${name} (stale)` : name, name);
        option.dataset.stale = String(stale.has(name));
        return option;
      }));
    }
    const value = view.kind === "host" ? view.host : "";
    if (this.select.value !== value) this.select.value = value; // leave an open list alone
  }
}
