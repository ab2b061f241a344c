// The live tables: top processes, and top services and containers (the cgroups collector's
// rows). Rows arrive already filtered, sorted and cut by the server for this client's
// filter; this module only edits the filter and draws what comes back. The snapshot panel
// (snapshots.js) shows a stored moment in a process table of its own, the same way.

import { TOP_LINES } from "./families.js";
import { formatBytes } from "./format.js";

const DEBOUNCE_MS = 300;
// Labels for the server's sort keys (its config's sorts); a key not here shows as is.
const SORT_LABELS = new Map([["cpu", "CPU %"], ["memory", "Memory"], ["pid", "PID"],
  ["name", "Name"], ["pids", "Processes"], ["read", "Read/s"], ["write", "Written/s"]]);
// Sorted highest first (the others ascending, names A to Z), as the server sorts them.
const HIGHEST_FIRST = new Set(["cpu", "memory", "pids", "read", "write"]);
// Row counts offered, up to the server's most (its config's process_max_limit).
const LIMITS = [10, 20, 50, 100, 200, 500];

const number = (value, digits = 1) => (typeof value === "number" ? value.toFixed(digits) : "—");

// The columns both tables have; memory's tooltip says what its share is of.
const NAME = { key: "name", label: "Name", sort: "name", text: (row) => row.name ?? "",
  title: (row) => row.name ?? "" };
const CPU = { key: "cpu", label: "CPU %", sort: "cpu", numeric: true,
  text: (row) => number(row.cpu) };
const memory = (of) => ({ key: "memory", label: "Memory", sort: "memory", numeric: true,
  text: (row) => formatBytes(row.memory),
  title: (row) => (typeof row.memory_percent === "number"
    ? `${row.memory_percent.toFixed(1)} % of ${of}` : "") });

/** What a table shows: its columns (key, label, sort?, numeric?, text(row), title?(row),
 * className?(row)), the row's data attributes, and its words. */
export const PROCESSES = {
  collector: "processes",
  placeholder: "Filter: name, user or PID",
  label: "Filter processes by name, user or PID",
  none: "No processes.",
  noMatch: (match) => `No process matches “${match}”.`,
  data: (row) => ({ pid: String(row.pid) }),
  columns: [
    { key: "pid", label: "PID", sort: "pid", numeric: true, text: (row) => String(row.pid) },
    NAME,
    { key: "user", label: "User", text: (row) => row.user ?? "" },
    CPU,
    memory("memory"),
    { key: "status", label: "Status", text: (row) => row.status ?? "",
      className: (row) => `status-${String(row.status).replace(/\W/g, "")}` },
  ],
};

const perSecond = (value) => (typeof value === "number" ? `${formatBytes(value)}/s` : "—");

/** Services, containers and sessions from the cgroups collector: one row per group. */
export const GROUPS = {
  collector: "cgroups",
  placeholder: "Filter: service, container or session",
  label: "Filter services and containers by name or kind",
  none: "No services, containers or sessions in this host's cgroups (depth = 1 under "
    + "[collectors.cgroups] lists every top-level group).",
  noMatch: (match) => `No group matches “${match}”.`,
  data: (row) => ({ group: row.name ?? "", kind: row.kind ?? "" }),
  // The charts draw each metric's highest groups: only their values need to be sent.
  extra: { top: TOP_LINES },
  columns: [
    NAME,
    { key: "kind", label: "Kind", text: (row) => row.kind ?? "" },
    CPU,
    memory("its limit (or of RAM)"),
    { key: "pids", label: "Procs", sort: "pids", numeric: true,
      text: (row) => number(row.pids, 0) },
    { key: "read", label: "Read/s", sort: "read", numeric: true, text: (row) => perSecond(row.read) },
    { key: "write", label: "Written/s", sort: "write", numeric: true,
      text: (row) => perSecond(row.write) },
  ],
};

function sortLabel(sort) {
  return SORT_LABELS.get(sort) || sort;
}

function element(tag, props = {}, children = []) {
  const el = document.createElement(tag);
  Object.assign(el, props);
  el.append(...children);
  return el;
}

export class ProcessTable {
  /**
   * kind: what the table shows (PROCESSES, GROUPS); onFilter(filter) sends the whole filter
   * {match, sort, limit} to the server; sorts: the sort keys it accepts; maxLimit: the most
   * rows it sends; id and title: the card's.
   * `live`: rows stream in (every scan): while no one can see the table (a hidden tab, or
   * scrolled out of view) only the newest are kept, and drawn when it can be seen again.
   */
  constructor({ sorts, maxLimit, onFilter, limit = 20, id = "processes",
    title = "Top processes", live = false, kind = PROCESSES }) {
    this.kind = kind;
    this.sorts = sorts;
    this.limits = LIMITS.filter((n) => n <= maxLimit);
    this.onFilter = onFilter;
    this.filter = { match: "", sort: "cpu", limit, ...kind.extra };
    this.id = id;
    this.title = title;
    this.waiting = true; // rows shown may predate the filter being edited
    this.timer = 0;
    this.card = this.build();
    this.held = null; // the newest rows, not drawn while the table cannot be seen
    this.seen = true;
    if (live) this.watchVisibility();
  }

  watchVisibility() {
    const show = () => {
      if (this.held && this.visible()) this.rows(this.held);
    };
    this.onVisibility = show;
    document.addEventListener("visibilitychange", show);
    this.viewport = new IntersectionObserver(([entry]) => {
      this.seen = entry.isIntersecting;
      show();
    });
    this.viewport.observe(this.card);
  }

  visible() {
    return this.seen && document.visibilityState !== "hidden";
  }

  /** Stop: its timer, and watching whether it can be seen. */
  stop() {
    clearTimeout(this.timer);
    if (this.onVisibility) document.removeEventListener("visibilitychange", this.onVisibility);
    this.viewport?.disconnect();
  }

  /** The first filter to send, before subscribing. */
  get initialFilter() {
    return { ...this.filter };
  }

  build() {
    this.search = element("input", {
      type: "search", placeholder: this.kind.placeholder, className: "proc-search",
      autocomplete: "off", spellcheck: false,
    });
    this.search.setAttribute("aria-label", this.kind.label);
    this.search.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.change({ match: this.search.value.trim() }), DEBOUNCE_MS);
    });
    this.sortSelect = element("select", { className: "proc-sort" },
      this.sorts.map((value) => element("option", { value, textContent: sortLabel(value) })));
    this.sortSelect.addEventListener("change", () => this.change({ sort: this.sortSelect.value }));
    this.limitSelect = element("select", { className: "proc-limit" },
      this.limits.map((n) => element("option", { value: String(n), textContent: String(n) })));
    this.limitSelect.value = String(this.filter.limit);
    this.limitSelect.addEventListener("change",
      () => this.change({ limit: Number(this.limitSelect.value) }));
    const form = element("form", { className: "table-controls" }, [
      this.search,
      element("label", {}, ["Sort ", this.sortSelect]),
      element("label", {}, ["Show ", this.limitSelect]),
    ]);
    form.setAttribute("role", "search");
    form.addEventListener("submit", (event) => event.preventDefault());

    const columns = this.kind.columns;
    this.headers = columns.map((column) => {
      const th = element("th", { scope: "col",
        className: `col-${column.key}${column.numeric ? " num" : ""}` });
      if (!column.sort || !this.sorts.includes(column.sort)) {
        th.textContent = column.label;
        return th;
      }
      const button = element("button", { type: "button", textContent: column.label });
      button.dataset.sort = column.sort;
      button.title = `Sort by ${column.label}`;
      button.addEventListener("click", () => this.change({ sort: column.sort }));
      th.dataset.sort = column.sort;
      th.append(button);
      return th;
    });
    // Until the first rows come (a stale host may send none), say so rather than show a bare
    // header: rows are snapshots, so there is no history to fill the table from.
    this.body = element("tbody", {}, [element("tr", { className: "waiting" },
      [element("td", { colSpan: columns.length, textContent: "Waiting for the first sample…" })])]);
    this.table = element("table", { className: "proc-table" }, [
      element("thead", {}, [element("tr", {}, this.headers)]),
      this.body,
    ]);
    this.table.dataset.state = "pending";
    this.alert = element("p", { className: "card-alert", hidden: true });
    this.caption = element("span", { className: "table-caption" });
    const card = element("section", { className: "card table-card", id: this.id }, [
      element("header", { className: "card-head" }, [
        element("h2", { className: "card-title", textContent: this.title }),
        this.caption,
      ]),
      form,
      this.alert,
      element("div", { className: "table-wrap" }, [this.table]),
    ]);
    card.dataset.collector = this.kind.collector;
    this.showSort(this.filter.sort);
    return card;
  }

  change(part) {
    const next = { ...this.filter, ...part };
    if (JSON.stringify(next) === JSON.stringify(this.filter)) return;
    this.filter = next;
    this.sortSelect.value = next.sort;
    this.showSort(next.sort);
    this.waiting = true;
    this.table.dataset.state = "pending";
    this.onFilter({ ...next });
  }

  /** The server's answer to a filter: the normalized filter, or why it was refused. */
  filterAck(ack) {
    if (!ack?.ok) {
      this.alert.hidden = false;
      this.alert.textContent = `Filter refused: ${ack?.error || "no reason given"}`;
      // The server kept the previous filter: the rows stay those of the applied one.
      if (this.applied) this.filter = { ...this.applied };
      this.waiting = false;
      this.table.dataset.state = "live";
      return;
    }
    this.alert.hidden = true;
    this.applied = ack.filter;
    this.waiting = false; // every row arriving from now on is cut by this filter
  }

  rows(rows) {
    if (this.viewport && !this.visible()) {
      this.held = rows;
      return;
    }
    this.held = null;
    const fresh = rows.map((row) => this.row(row));
    if (!fresh.length) {
      const match = this.applied?.match;
      const text = match ? this.kind.noMatch(match) : this.kind.none;
      fresh.push(element("tr", { className: "empty" },
        [element("td", { colSpan: this.kind.columns.length, textContent: text })]));
    }
    this.body.replaceChildren(...fresh);
    if (!this.waiting && this.applied) {
      this.table.dataset.state = "live";
      this.table.dataset.match = this.applied.match;
      this.table.dataset.sort = this.applied.sort;
      this.table.dataset.limit = String(this.applied.limit);
      this.showSort(this.applied.sort);
      this.caption.textContent = `${rows.length} shown · by ${sortLabel(this.applied.sort)}`;
    }
  }

  row(row) {
    const cells = this.kind.columns.map((column) => {
      const extra = column.className ? ` ${column.className(row)}` : "";
      const td = element("td", { className: `col-${column.key}${column.numeric ? " num" : ""}${extra}`,
        textContent: column.text(row) });
      const title = column.title?.(row);
      if (title) td.title = title;
      return td;
    });
    const tr = element("tr", {}, cells);
    Object.assign(tr.dataset, this.kind.data(row));
    tr.dataset.memory = typeof row.memory === "number" ? String(row.memory) : "";
    tr.dataset.cpu = typeof row.cpu === "number" ? String(row.cpu) : "";
    return tr;
  }

  showSort(sort) {
    for (const th of this.headers) {
      if (!th.dataset.sort) continue;
      const active = th.dataset.sort === sort;
      const descending = HIGHEST_FIRST.has(sort);
      th.setAttribute("aria-sort", active ? (descending ? "descending" : "ascending") : "none");
    }
  }
}
