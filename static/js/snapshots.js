// "What was running then": a click on any chart asks /processes for the stored process
// snapshot nearest that moment (`snapshot` {ts, host, filter}) and shows it in a panel: its
// own time and how far that is from the click, the process table (the live table's columns,
// filter and sort: a ProcessTable of its own, filtered by the server like the live one),
// and Earlier / Later buttons that step through the neighbouring snapshots. Escape or the
// close button closes it; on a phone it is a full-width sheet.

import { formatMoment } from "./format.js";
import { ProcessTable } from "./processes.js";
import { distanceText, neighbour } from "./zoomdata.js";

export class SnapshotPanel {
  /** panel: the template's aside; sorts, maxLimit: the process table's (page config). */
  constructor({ panel, sorts, maxLimit }) {
    this.panel = panel;
    this.generation = 0;
    this.asked = null; // the moment clicked (unix s)
    this.snapshot = null;
    this.request = null; // (payload) -> Promise of the ack: the host's /processes channel
    this.time = panel.querySelector(".snapshot-time");
    this.distance = panel.querySelector(".snapshot-distance");
    this.errorLine = panel.querySelector(".snapshot-error");
    this.prev = panel.querySelector(".snapshot-prev");
    this.next = panel.querySelector(".snapshot-next");
    this.table = new ProcessTable({ sorts, maxLimit, id: "snapshot-processes",
      title: "Processes", onFilter: () => this.fetch(this.snapshot?.ts ?? this.asked, true) });
    panel.querySelector(".snapshot-body").append(this.table.card);
    this.prev.addEventListener("click", () => this.step(-1));
    this.next.addEventListener("click", () => this.step(1));
    panel.querySelector(".snapshot-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.panel.hidden) this.close();
    });
  }

  /** The snapshot nearest `ts` of `host`; request(payload) sends it (HostDashboard.snapshot). */
  open({ ts, host, request }) {
    this.asked = ts;
    this.host = host;
    this.request = request;
    this.snapshot = null;
    this.panel.hidden = false;
    this.panel.querySelector(".snapshot-host").textContent = host;
    this.fetch(ts, false);
  }

  close() {
    this.generation += 1; // an answer still on its way is not shown
    this.panel.hidden = true;
  }

  step(direction) {
    const ts = neighbour(this.snapshot, direction);
    if (ts !== null) this.fetch(ts, false);
  }

  /** Ask for the snapshot nearest `ts`; `filterChange`: the table's filter was edited. */
  async fetch(ts, filterChange) {
    if (ts === null || !this.request) return;
    const generation = ++this.generation;
    const filter = { ...this.table.filter };
    this.panel.dataset.state = "loading";
    this.prev.disabled = true;
    this.next.disabled = true;
    const ack = await this.request({ ts, filter });
    if (generation !== this.generation) return;
    if (!ack.ok) {
      this.showError(ack.error);
      if (filterChange) this.table.filterAck(ack);
      this.enableSteps();
      return;
    }
    this.showError(null);
    this.table.filterAck({ ok: true, filter });
    this.show(ack.snapshot);
  }

  show(snapshot) {
    this.snapshot = snapshot;
    this.enableSteps();
    if (!snapshot) {
      this.panel.dataset.state = "empty";
      delete this.panel.dataset.ts;
      this.time.textContent = formatMoment(this.asked);
      this.distance.textContent = "no process snapshot stored for this host";
      this.table.rows([]);
      return;
    }
    this.panel.dataset.state = "shown";
    this.panel.dataset.ts = String(snapshot.ts);
    this.time.textContent = formatMoment(snapshot.ts);
    this.time.dateTime = new Date(snapshot.ts * 1000).toISOString();
    this.distance.textContent = `${distanceText(snapshot.ts, this.asked, "the click")} · `
      + `${snapshot.total} processes stored`;
    this.table.rows(snapshot.rows || []);
  }

  enableSteps() {
    this.prev.disabled = neighbour(this.snapshot, -1) === null;
    this.next.disabled = neighbour(this.snapshot, 1) === null;
  }

  showError(message) {
    this.errorLine.hidden = !message;
    this.errorLine.textContent = message ? `Snapshot: ${message}` : "";
    if (message) this.panel.dataset.state = "error";
  }
}
