// The top-processes table. Rows arrive already filtered, sorted and cut by the server for
// this client's filter; this module only edits the filter and draws what comes back. The
// snapshot panel (snapshots.js) shows a stored moment in a table of its own, the same way.

import { formatBytes } from "./format.js";

const DEBOUNCE_MS = 300;
// Labels for the server's sort keys (its config's process_sorts); a key not here shows as is.
const SORT_LABELS = new Map([["cpu", "CPU %"], ["memory", "Memory"], ["pid", "PID"],
  ["name", "Name"]]);
// Row counts offered, up to the server's most (its config's process_max_limit).
const LIMITS = [10, 20, 50, 100, 200, 500];
const COLUMNS = [
  { key: "pid", label: "PID", sort: "pid", numeric: true },
  { key: "name", label: "Name", sort: "name" },
  { key: "user", label: "User" },
  { key: "cpu", label: "CPU %", sort: "cpu", numeric: true },
  { key: "memory", label: "Memory", sort: "memory", numeric: true },
  { key: "status", label: "Status" },
];

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
   * onFilter(filter) sends the whole filter {match, sort, limit} to the server; sorts: the
   * sort keys it accepts; maxLimit: the most rows it sends; id and title: the card's.
   * `live`: rows stream in (every scan): while no one can see the table (a hidden tab, or
   * scrolled out of view) only the newest are kept, and drawn when it can be seen again.
   */
  constructor({ sorts, maxLimit, onFilter, limit = 20, id = "processes",
    title = "Top processes", live = false }) {
    this.sorts = sorts;
    this.limits = LIMITS.filter((n) => n <= maxLimit);
    this.onFilter = onFilter;
    this.filter = { match: "", sort: "cpu", limit };
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
      type: "search", placeholder: "Filter: name, user or PID", className: "proc-search",
      autocomplete: "off", spellcheck: false,
    });
    this.search.setAttribute("aria-label", "Filter processes by name, user or PID");
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

    this.headers = COLUMNS.map((column) => {
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
      [element("td", { colSpan: COLUMNS.length, textContent: "Waiting for the first sample…" })])]);
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
    card.dataset.collector = "processes";
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
      const text = match ? `No process matches “${match}”.` : "No processes.";
      fresh.push(element("tr", { className: "empty" },
        [element("td", { colSpan: COLUMNS.length, textContent: text })]));
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
    const cpu = typeof row.cpu === "number" ? row.cpu.toFixed(1) : "—";
    const memory = element("td", { className: "col-memory num",
      textContent: formatBytes(row.memory) });
    if (typeof row.memory_percent === "number") {
      memory.title = `${row.memory_percent.toFixed(1)} % of memory`;
    }
    const tr = element("tr", {}, [
      element("td", { className: "col-pid num", textContent: String(row.pid) }),
      element("td", { className: "col-name", textContent: row.name ?? "", title: row.name ?? "" }),
      element("td", { className: "col-user", textContent: row.user ?? "" }),
      element("td", { className: "col-cpu num", textContent: cpu }),
      memory,
      element("td", { className: `col-status status-${String(row.status).replace(/\W/g, "")}`,
        textContent: row.status ?? "" }),
    ]);
    tr.dataset.pid = String(row.pid);
    tr.dataset.memory = typeof row.memory === "number" ? String(row.memory) : "";
    tr.dataset.cpu = typeof row.cpu === "number" ? String(row.cpu) : "";
    return tr;
  }

  showSort(sort) {
    for (const th of this.headers) {
      if (!th.dataset.sort) continue;
      const active = th.dataset.sort === sort;
      const descending = sort === "cpu" || sort === "memory";
      th.setAttribute("aria-sort", active ? (descending ? "descending" : "ascending") : "none");
    }
  }
}
