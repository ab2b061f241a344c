// Compare: what the charts show, as it was one day or one week earlier, drawn as faint
// dashed lines from history (`range`), live or zoomed. Live, each collector fetches the
// shifted window plus half a window more once, and again only when the window has moved
// past what it holds.

import { requestRange } from "./zoom.js";
import { compareCovers, compareSpan, pointsFor } from "./zoomdata.js";

// How much of a window the live fetch reaches past now (refetched every half window), and
// never past now itself: half the offset at most.
const LEAD = 0.5;

export class Compare {
  /**
   * board, channels, host, limits: as Zoom's; zoom: the host's Zoom (what is shown);
   * window: the live window's seconds.
   */
  constructor({ board, channels, host, limits, zoom, window }) {
    Object.assign(this, { board, channels, host, limits, zoom, window });
    this.offset = 0;
    this.label = "";
    this.generation = 0;
    this.fetched = new Map(); // collector -> the shifted span its lines cover
    this.pending = new Set(); // collectors with a fetch in flight
    this.ready = new Set();
  }

  /** `offset` seconds earlier (0: off), named `label` in the hover ("1 day earlier"). */
  set(offset, label) {
    this.offset = offset;
    this.label = label;
    this.refresh();
  }

  /** The live window changed length: what is compared changes with it. */
  setWindow(seconds) {
    this.window = seconds;
    this.refresh();
  }

  /** What is shown changed (a zoom, back to live): fetch it all again. */
  refresh() {
    this.generation += 1;
    this.fetched.clear();
    this.pending.clear();
    for (const name of this.ready) {
      if (this.offset) this.fetch(name);
      else this.board.showCompare(name, null);
    }
  }

  /** A collector's subscribe answered: its charts exist, so they compare too. */
  subscribed(name) {
    this.ready.add(name);
    if (this.offset && !this.fetched.has(name) && !this.pending.has(name)) this.fetch(name);
  }

  /** The live window moved to end at `ts`: fetch again where the lines run out. */
  tick(ts) {
    if (!this.offset || this.zoom.active || ts === null) return;
    const shown = { start: ts - this.window, end: ts };
    for (const name of this.ready) {
      if (this.pending.has(name) || compareCovers(this.fetched.get(name), shown, this.offset)) {
        continue;
      }
      this.fetch(name);
    }
  }

  shown() {
    if (this.zoom.active) return this.zoom.range;
    const end = this.board.latestTs ?? Date.now() / 1000;
    return { start: end - this.window, end };
  }

  async fetch(name) {
    const channel = this.channels.get(name);
    if (!channel || !this.board.chartsOf(name).length) return;
    const generation = this.generation;
    const live = !this.zoom.active;
    const lead = Math.min(this.window * LEAD, this.offset / 2);
    const span = compareSpan(this.shown(), this.offset, { live, lead });
    const widths = live ? 1 + lead / this.window : 1;
    const payload = { ...span,
      points: pointsFor(this.board.plotWidth(name) * widths, this.limits) };
    if (this.host) payload.host = this.host;
    this.pending.add(name);
    const ack = await requestRange(channel, payload);
    if (generation !== this.generation) return;
    this.pending.delete(name);
    // A failed fetch counts as covering its span: asked again when the window moves past.
    this.fetched.set(name, span);
    if (!ack.ok) {
      this.board.setAlert(name, "subscribe", `compare: ${ack.error}`);
      return;
    }
    this.board.showCompare(name, ack.history, this.offset, this.label);
  }
}
