// Synced zoom for one host's charts: a drag on any chart shows that range on all of them,
// and each collector asks its namespace for it (`range`, as many points as its chart is
// wide: raw samples where the server has them, rollups with min and max beyond), drawn in
// place of the live lines. Live samples then only update the headlines. Live (the button,
// a double-click) starts every collector over with the live window, the normal subscribe.

import { pointsFor } from "./zoomdata.js";

// A range beyond the server's memory is read from its history file (subscribe allows 20 s).
const RANGE_TIMEOUT_MS = 20000;
const RETRIES = 3;

/**
 * A `range` request on `channel` (payload as the protocol has it); over the connection's
 * budget it is asked again when the server says, a few times. Resolves to the ack.
 */
export async function requestRange(channel, payload) {
  for (let attempt = 0; ; attempt += 1) {
    const ack = await channel.request("range", payload, RANGE_TIMEOUT_MS);
    if (ack.error !== "rate_limited" || attempt >= RETRIES || channel.closed) return ack;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, ack.retry_after) * 1000));
  }
}

export class Zoom {
  /**
   * board: the host's ChartBoard; channels: its Map of collector name -> Channel; host: the
   * host's name; limits: [fewest, most] points (page.range_points); onChange(range or null).
   */
  constructor({ board, channels, host, limits, onChange = () => {} }) {
    this.board = board;
    this.channels = channels;
    this.host = host;
    this.limits = limits;
    this.onChange = onChange;
    this.range = null;
    this.generation = 0; // acks of an earlier zoom are dropped
    this.ready = new Set(); // collectors whose subscribe answered: their charts exist
    this.asked = new Set(); // collectors asked for the current range
  }

  get active() {
    return this.range !== null;
  }

  /** Show `range` ({start, end}, unix s) on every chart and fetch it for every collector. */
  zoomTo(range) {
    this.range = range;
    this.generation += 1;
    this.asked.clear();
    this.board.zoomTo(range);
    for (const name of this.ready) this.ask(name);
    this.onChange(range);
  }

  /** A collector's subscribe answered (its charts exist): it joins the zoom, if one is on. */
  subscribed(name) {
    this.ready.add(name);
    if (this.active && !this.asked.has(name)) this.ask(name);
  }

  async ask(name) {
    const channel = this.channels.get(name);
    if (!channel || !this.board.chartsOf(name).length) return; // nothing to draw it on
    const generation = this.generation;
    const { start, end } = this.range;
    this.asked.add(name);
    const payload = { start, end, points: pointsFor(this.board.plotWidth(name), this.limits) };
    if (this.host) payload.host = this.host;
    const ack = await requestRange(channel, payload);
    if (generation !== this.generation) return;
    if (!ack.ok) {
      this.asked.delete(name); // the next subscribe answer (a reconnect) asks again
      this.board.setAlert(name, "subscribe", `zoom: ${ack.error}`);
      return;
    }
    this.board.showRange(name, ack.history);
  }

  /** Back to the live window; `restart`: each collector subscribes again for its history
   * (false when the caller restarts them anyway, with a new window). */
  live({ restart = true } = {}) {
    if (!this.active) return;
    this.range = null;
    this.generation += 1;
    this.board.unzoom();
    if (restart) for (const channel of this.channels.values()) channel.restart();
    this.onChange(null);
  }
}
