// Entry point: builds the page from the config embedded in it (this process's host and the
// collectors it runs, the hosts it serves, and in `page` the server's constants: time
// windows, bucket widths, the span kept in memory, the process sort keys), then shows the
// view the URL asks for — one host's dashboard (?host=db-1) or, with several hosts, the fleet
// overview — and wires the connection, the host picker, the time-window picker, the health
// strip, the banners, the alerts (badge, panel, chart overlays), the charts' zoom (its range
// in the URL as ?from=&to=, the Live button), compare and the snapshot panel together.

import { Alerts } from "./alerts.js";
import { Connection } from "./connection.js";
import { FleetView } from "./fleet.js";
import { sortHosts, staleText } from "./fleetdata.js";
import { formatClock, formatMoment } from "./format.js";
import { HealthStrip, HistoryBanner, PluginBanner, QueueBanner } from "./health.js";
import { HostDashboard } from "./hostview.js";
import { HostList, HostPicker } from "./hosts.js";
import { SnapshotPanel } from "./snapshots.js";
import { ThemeToggle } from "./theme.js";
import { WindowPicker, initialWindow, rememberWindow, windowByKey } from "./timewindow.js";
import { cardOrder, chooseView, collectorRank, requestedView, sameView, viewUrl }
  from "./views.js";
import { rangeUrl, readRange } from "./zoomdata.js";

function readConfig() {
  const block = document.getElementById("dashboard-config");
  return JSON.parse(block.textContent);
}

function showState(badge, state) {
  badge.dataset.state = state.name;
  badge.querySelector(".badge-text").textContent = state.name;
  badge.title = state.detail ? `${state.name}: ${state.detail}` : state.name;
  document.body.dataset.connection = state.name;
}

const byId = (id) => document.getElementById(id);
const REVEAL_WAIT_MS = 10000;

/** A host's collectors in card order (built-ins first, then by name). */
function collectorNames(names) {
  return [...names].sort((a, b) => collectorRank(a) - collectorRank(b) || a.localeCompare(b));
}

/** Keep a CSS custom property at an element's height (sticky headers go below it). */
function followHeight(element, property) {
  const root = document.documentElement;
  const set = () => root.style.setProperty(property,
    getComputedStyle(element).position === "sticky" ? `${element.offsetHeight}px` : "0px");
  set();
  new ResizeObserver(set).observe(element);
}

class Page {
  constructor(config) {
    this.config = config;
    this.page = config.page;
    this.own = config.collectors.length ? config.host : null; // this process collects
    this.hostList = Array.isArray(config.hosts) ? config.hosts : null; // from /api/hosts
    this.summaries = new Map(); // host -> its newest /fleet summary
    this.view = null;
    this.dashboard = null;
    this.fleet = null;
    this.fleetChannel = null;
    this.windowKey = initialWindow(this.page.windows, this.page.default_window);
    this.el = {
      host: byId("host"), hostLabel: byId("host-label"), stale: byId("host-stale"),
      seen: byId("host-seen"), updated: byId("updated"), grid: byId("charts"),
      fleet: byId("fleet"), notice: byId("notice"), window: byId("window"),
      zoomBar: byId("zoom-bar"), zoomRange: byId("zoom-range"), compare: byId("compare"),
      comparePicker: byId("compare-picker"),
    };
    const badge = byId("connection");
    this.connection = new Connection({
      memoryWindow: this.page.memory_window,
      onState: (state) => showState(badge, state),
    });
  }

  seconds(key) {
    return windowByKey(this.page.windows, key).seconds;
  }

  start() {
    followHeight(document.querySelector(".topbar"), "--topbar-height");
    new ThemeToggle({ button: byId("theme-toggle"), onChange: () => this.dashboard?.setTheme() });
    new WindowPicker({
      group: this.el.window,
      selected: this.windowKey,
      onChange: (key) => {
        this.windowKey = key;
        rememberWindow(key);
        this.dashboard?.setWindow(this.seconds(key));
      },
    });
    this.picker = new HostPicker({ nav: byId("host-nav"), select: byId("host-picker"),
      fleetLink: byId("fleet-link"), onChoose: (view) => this.navigate(view) });
    this.hosts = new HostList({ onHosts: (list) => this.onHostList(list) });
    this.startZoom();
    this.show(this.choose());
    window.addEventListener("popstate", () => this.show(this.choose()));
    this.hosts.start();
    this.startHealth();
    if (this.config.alerts) this.startAlerts();
  }

  /** The Live button, the compare picker and the snapshot panel (the dashboard does the rest). */
  startZoom() {
    byId("live-button").addEventListener("click", () => this.dashboard?.live());
    this.el.compare.addEventListener("change", () => this.applyCompare());
    this.snapshots = new SnapshotPanel({ panel: byId("snapshot-panel"),
      sorts: this.page.process_sorts, maxLimit: this.page.process_max_limit });
  }

  applyCompare(dashboard = this.dashboard) {
    const select = this.el.compare;
    dashboard?.setCompare(Number(select.value), select.selectedOptions[0].textContent);
  }

  /** The charts zoomed (or went back to live): the URL and the top bar say so. */
  onZoom(range) {
    window.history.replaceState(window.history.state, "", rangeUrl(window.location.href, range));
    this.el.zoomBar.hidden = !range;
    this.el.zoomRange.textContent = range ? `${formatMoment(range.start)} – `
      + `${formatMoment(range.end)}` : "";
    document.body.dataset.zoom = range ? "zoomed" : "live";
  }

  startAlerts() {
    this.alerts = new Alerts({
      connection: this.connection, badge: byId("alerts-badge"), panel: byId("alerts-panel"),
      onChange: (state) => this.dashboard?.setAlerts(state),
      onOpen: (alert) => this.openAlert(alert),
    });
  }

  /** An alert clicked in the panel: its host's dashboard, scrolled to its chart. */
  openAlert(alert) {
    this.alerts.panel.close();
    this.navigate({ kind: "host", host: alert.host });
    this.reveal(alert.series, Date.now() + REVEAL_WAIT_MS);
  }

  /** Scroll to and flash the card of `series` once it is on the page (another host's cards
   * come with their subscribe acks). */
  reveal(series, deadline) {
    const card = this.dashboard?.cardOf(series);
    if (!card) {
      if (Date.now() < deadline) setTimeout(() => this.reveal(series, deadline), 150);
      return;
    }
    card.scrollIntoView({ block: "center", behavior: "smooth" });
    card.classList.remove("is-highlighted");
    void card.offsetWidth; // restart the animation
    card.classList.add("is-highlighted");
  }

  startHealth() {
    const banner = new HistoryBanner(byId("history-banner"));
    const pluginBanner = new PluginBanner(byId("plugin-banner"));
    const queueBanner = new QueueBanner(byId("queue-banner"));
    const health = new HealthStrip({
      strip: byId("health"),
      // /healthz speaks of this process's own collectors: their cards only.
      onHealth: (collectors) => {
        if (this.own && this.dashboard?.host === this.own) this.dashboard.setHealth(collectors);
      },
      onHistory: (history) => banner.show(history),
      onPlugins: (errors) => pluginBanner.show(errors),
      onQueue: (queue) => queueBanner.show(queue),
    });
    health.start(Object.fromEntries(this.config.collectors.map((c) => [c.name, c.health || {}])));
  }

  /** Every host known, from /api/hosts and the /fleet pushes; null before either answered. */
  hostNames() {
    if (this.hostList === null && !this.summaries.size) return null;
    return [...new Set([...(this.hostList || []).map((h) => h.host), ...this.summaries.keys()])];
  }

  choose() {
    return chooseView(requestedView(window.location.search), this.hostNames(), this.own);
  }

  /** A choice the user made: the URL says it (Back returns), then the page shows it. */
  navigate(view) {
    if (sameView(view, this.view)) return;
    window.history.pushState(null, "", this.urlOf(view));
    this.show(view);
  }

  urlOf(view) {
    return viewUrl(window.location.href, view,
      { fleetByDefault: (this.hostNames() || []).length > 1 });
  }

  show(view) {
    if (!sameView(view, this.view)) {
      this.view = view;
      if (view.kind === "host") this.showHost(view.host);
      else this.showFleet();
    }
    this.renderChrome();
  }

  showHost(host) {
    this.fleet?.hide();
    if (this.dashboard?.host !== host) {
      this.dashboard?.close();
      this.snapshots.close();
      this.el.updated.textContent = "";
      this.dashboard = this.makeDashboard(host);
    }
    this.el.grid.hidden = false;
    this.el.window.hidden = false;
    this.el.comparePicker.hidden = false;
  }

  /** The overview; also what shows while no host has reported yet (it says so). */
  showFleet() {
    this.dashboard?.close();
    this.dashboard = null;
    this.snapshots.close();
    this.onZoom(null);
    this.el.grid.hidden = true;
    this.el.window.hidden = true;
    this.el.comparePicker.hidden = true;
    this.el.updated.textContent = "";
    this.ensureFleet();
    this.fleet.show();
  }

  makeDashboard(host) {
    const known = host === this.own ? this.config.collectors : [];
    const dashboard = new HostDashboard({
      grid: this.el.grid, connection: this.connection, host, page: this.page,
      window: this.seconds(this.windowKey), order: cardOrder(known.map((c) => c.name)),
      onFlush: (ts) => {
        if (ts === null) return;
        this.el.updated.textContent = `last sample ${formatClock(new Date(ts * 1000))}`;
      },
      onZoom: (range) => this.onZoom(range),
      onPick: (ts) => this.snapshots.open({ ts, host,
        request: (payload) => dashboard.snapshot(payload) }),
    });
    for (const collector of known) dashboard.add(collector);
    this.addListedCollectors(dashboard);
    // A link with ?from=&to= opens at that moment; the compare choice carries over.
    const range = readRange(window.location.search);
    if (range) dashboard.zoomTo(range);
    if (Number(this.el.compare.value)) this.applyCompare(dashboard);
    if (this.alerts) dashboard.setAlerts(this.alerts.state);
    this.connection.update();
    return dashboard;
  }

  /** The host's collectors /api/hosts lists that have no cards yet (an agent's appear one by
   * one as each sends its first sample). */
  addListedCollectors(dashboard) {
    const entry = this.hostList?.find((h) => h.host === dashboard.host);
    for (const name of collectorNames(entry?.collectors || [])) {
      if (!dashboard.has(name)) dashboard.add({ name });
    }
  }

  ensureFleet() {
    if (this.fleet) return;
    this.fleet = new FleetView({
      section: this.el.fleet,
      hrefOf: (host) => this.urlOf({ kind: "host", host }),
      onOpen: (host) => this.navigate({ kind: "host", host }),
    });
    this.fleetChannel = this.connection.fleet({
      onHosts: (summaries, every) => this.onFleet(summaries, every),
    });
  }

  onHostList(list) {
    this.hostList = list;
    this.follow();
  }

  onFleet(summaries, every) {
    this.summaries = new Map(summaries.map((s) => [s.host, s]));
    this.fleet.update(summaries, every);
    if (this.view.kind !== "host") {
      this.el.updated.textContent = `updated ${formatClock(new Date())}`;
    }
    const listed = new Set((this.hostList || []).map((h) => h.host));
    if (summaries.some((s) => !listed.has(s.host))) this.hosts.refresh(); // its collectors
    this.follow();
  }

  /** The host list changed: a bare URL's view follows it, and so does the host's cards. */
  follow() {
    const view = this.choose();
    if (!sameView(view, this.view)) this.show(view);
    else this.renderChrome();
    if (this.dashboard) this.addListedCollectors(this.dashboard);
  }

  /** What the page knows of a host now: the newer of its /fleet summary and /api/hosts entry. */
  stateOf(host) {
    const pushed = this.summaries.get(host);
    const listed = this.hostList?.find((h) => h.host === host);
    if (!pushed || (listed && (listed.last_seen ?? 0) > (pushed.last_seen ?? 0))) return listed;
    return pushed;
  }

  /** The top bar (which host, whether it went quiet), the picker and the notice. */
  renderChrome() {
    const view = this.view;
    const onHost = view.kind === "host";
    this.el.hostLabel.textContent = onHost ? "host" : "fleet";
    this.el.host.textContent = onHost ? view.host : "All hosts";
    document.title = `${onHost ? view.host : "fleet"} · dashboard`;
    const state = onHost ? this.stateOf(view.host) : null;
    const stale = Boolean(state?.stale);
    this.el.stale.hidden = !stale;
    this.el.seen.hidden = !stale;
    this.el.seen.textContent = stale ? staleText(state.last_seen, Date.now() / 1000) : "";
    const hosts = (this.hostNames() || []).map((host) => ({ host,
      stale: Boolean(this.stateOf(host)?.stale) }));
    this.picker.show(hosts, view, this.urlOf({ kind: "fleet" }));
    this.renderNotice();
  }

  renderNotice() {
    const view = this.view;
    const names = sortHosts(this.hostNames() || []);
    const unknown = view.kind === "host" && this.hostList !== null && !names.includes(view.host)
      && !this.dashboard?.channels.size;
    this.el.notice.hidden = !unknown;
    this.el.notice.textContent = unknown ? `Host “${view.host}” has not reported to this `
      + `server${names.length ? ` (known: ${names.join(", ")})` : ""}; its charts appear as `
      + "soon as it does." : "";
  }
}

new Page(readConfig()).start();
