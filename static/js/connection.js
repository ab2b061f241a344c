// The page's one Socket.IO connection: a shared manager, one socket per namespace, subscribe
// with an ack (and a timeout), resubscribe with `since` on every reconnect and with the whole
// window when the window changes. A channel follows one host's collector; closing it (the
// page switches host) unsubscribes and leaves the namespace's socket up for the next one.
// The /fleet channel takes every host's summary, pushed each second; other modules' channels
// (alerts.js) build on NamespaceChannel and join through add().

import { freshSamples, historySamples } from "./samples.js";

const SUBSCRIBE_TIMEOUT_MS = 8000;
// Spans longer than the server keeps in memory (its config's memory_window: an hour) are
// read from the history file; the server allows such a read 15 s.
const DISK_TIMEOUT_MS = 20000;
const RETRY_MS = 3000;
const REFUSED_RETRY_MS = 10000;
// Brief blips show amber; after this many failed attempts the badge turns red (still retrying).
const RED_AFTER_ATTEMPTS = 4;

/**
 * Connection state for the badge: connecting | connected | reconnecting | disconnected.
 * memoryWindow: the span (s) the server answers from memory, not from its history file.
 */
export class Connection {
  constructor({ memoryWindow, onState = () => {} }) {
    this.onState = onState;
    this.memoryWindow = memoryWindow;
    this.channels = [];
    this.attempt = 0;
    this.failed = false;
    this.everConnected = false;
    this.manager = new io.Manager(window.location.origin, {
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.3,
    });
    this.manager.on("reconnect_attempt", (attempt) => {
      this.attempt = attempt;
      this.update();
    });
    this.manager.on("reconnect", () => {
      this.attempt = 0;
      this.failed = false;
      this.update();
    });
    this.manager.on("reconnect_failed", () => {
      this.failed = true;
      this.update();
    });
  }

  /**
   * A channel for one namespace showing the last `window` seconds; handlers: onAck, onReset,
   * onSamples, onSeries, onError, onFilter.
   */
  channel(namespace, handlers, window, host = null) {
    const channel = new Channel(this, namespace, handlers, window, host);
    this.channels.push(channel);
    return channel;
  }

  /** The /fleet channel; handlers: onHosts(summaries, every), onError(message or null). */
  fleet(handlers) {
    const channel = new FleetChannel(this, handlers);
    this.channels.push(channel);
    return channel;
  }

  /** A channel made elsewhere (alerts.js): its socket counts in the connection's state. */
  add(channel) {
    this.channels.push(channel);
    this.update();
    return channel;
  }

  remove(channel) {
    this.channels = this.channels.filter((c) => c !== channel);
    this.update();
  }

  state() {
    const sockets = this.channels.map((c) => c.socket);
    if (sockets.length && sockets.every((s) => s.connected)) {
      this.everConnected = true;
      return { name: "connected", detail: "live" };
    }
    const refused = this.channels.find((c) => c.refused);
    if (refused) return { name: "disconnected", detail: `refused: ${refused.refused}` };
    if (this.failed || this.attempt >= RED_AFTER_ATTEMPTS) {
      return { name: "disconnected", detail: `retry #${this.attempt}` };
    }
    if (this.everConnected || this.attempt > 0) {
      return { name: "reconnecting", detail: this.attempt ? `attempt ${this.attempt}` : "" };
    }
    return { name: "connecting", detail: "" };
  }

  update() {
    this.onState(this.state());
  }
}

/**
 * What every channel does with its namespace's socket: listen (and stop listening when
 * closed), subscribe on every connect, and retry when the server closed or refused it. The
 * socket is shared with the channels closed before on the namespace: if it is up already, no
 * "connect" comes, so the first subscribe is sent at once.
 */
export class NamespaceChannel {
  constructor(connection, namespace, handlers) {
    this.connection = connection;
    this.namespace = namespace;
    this.handlers = handlers;
    this.generation = 0;
    this.refused = null;
    this.closed = false;
    this.socket = connection.manager.socket(namespace);
    this.listeners = {
      connect: () => this.onConnect(),
      disconnect: (reason) => this.onDisconnect(reason),
      connect_error: (err) => this.onConnectError(err),
      ...this.events(),
    };
    for (const [event, listener] of Object.entries(this.listeners)) this.socket.on(event, listener);
    this.starting = this.socket.connected;
    if (this.starting) {
      queueMicrotask(() => {
        this.starting = false;
        if (!this.closed && this.socket.connected) this.onConnect();
      });
    }
  }

  /** Listeners of the namespace's own events, by event name. */
  events() {
    return {};
  }

  onConnect() {
    this.refused = null;
    this.connection.update();
    this.subscribe();
  }

  onDisconnect(reason) {
    this.generation += 1;
    // The server closed this namespace on purpose; the manager will not bring it back alone.
    if (reason === "io server disconnect") {
      setTimeout(() => !this.closed && this.socket.connect(), RETRY_MS);
    }
    this.connection.update();
  }

  onConnectError(err) {
    if (!this.socket.active) {
      // Refused by the server (e.g. the session expired): retry slowly, show it in red.
      this.refused = err.message || "refused";
      setTimeout(() => !this.closed && this.socket.connect(), REFUSED_RETRY_MS);
    }
    this.connection.update();
  }

  /** A request with an ack (`silence`, `range`, `snapshot`...); resolves to the ack ({ok, ...}
   * or {ok: false, error}), also when the server does not answer within `timeoutMs`. */
  request(event, payload, timeoutMs = SUBSCRIBE_TIMEOUT_MS) {
    return new Promise((resolve) => {
      if (!this.socket.connected) {
        resolve({ ok: false, error: "not connected to the server" });
        return;
      }
      this.socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
        resolve(err ? { ok: false, error: "no answer from the server" }
          : ack || { ok: false, error: "empty answer" });
      });
    });
  }

  /** Stop: answers in flight are ignored, the server stops sending, the socket stays up. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.generation += 1;
    for (const [event, listener] of Object.entries(this.listeners)) {
      this.socket.off(event, listener);
    }
    if (this.socket.connected) this.socket.emit("unsubscribe");
    this.connection.remove(this);
  }
}

/**
 * One collector's namespace for one host: subscription, backfill, de-duplication by
 * timestamp, the client filter. Every subscribe bumps `generation`; an ack of an older one
 * (a reconnect or a window change took over) is ignored, so only the newest request's
 * history ever reaches the charts.
 */
class Channel extends NamespaceChannel {
  constructor(connection, namespace, handlers, window, host) {
    super(connection, namespace, handlers);
    this.window = window;
    this.host = host;
    this.lastTs = null;
    this.filter = null;
    this.queued = null; // samples that arrive while a subscribe ack is outstanding
  }

  events() {
    return {
      sample: (sample) => this.onSample(sample),
      series: (message) => this.handlers.onSeries?.(message.series || []),
    };
  }

  onConnect() {
    this.refused = null;
    this.connection.update();
    this.sendFilter();
    this.subscribe();
  }

  onDisconnect(reason) {
    this.queued = null;
    super.onDisconnect(reason);
  }

  close() {
    this.queued = null;
    super.close();
  }

  /** Show another window: start over with its whole history (at once if connected). */
  setWindow(seconds) {
    if (seconds === this.window || this.closed) return;
    this.window = seconds;
    this.restart();
  }

  /** Start over with the whole window's history (back to live after a zoom). */
  restart() {
    if (this.closed) return;
    this.lastTs = null;
    this.generation += 1; // an ack in flight belongs to the old window
    this.queued = null;
    if (this.socket.connected && !this.starting) this.subscribe();
  }

  subscribe() {
    const generation = ++this.generation;
    // Nothing shown yet (first connect, a new window): the whole window; else what was missed.
    const whole = this.lastTs === null;
    const window = this.window;
    const payload = whole ? { history: window } : { since: this.lastTs };
    if (this.host) payload.host = this.host;
    const span = whole ? window : Date.now() / 1000 - this.lastTs;
    const timeoutMs = span > this.connection.memoryWindow ? DISK_TIMEOUT_MS
      : SUBSCRIBE_TIMEOUT_MS;
    this.queued = [];
    this.socket.timeout(timeoutMs).emit("subscribe", payload, (err, ack) => {
      if (generation !== this.generation) return; // a newer subscribe took over
      if (err) {
        this.handlers.onError?.(`no answer to subscribe within ${timeoutMs / 1000} s`);
        setTimeout(() => this.socket.connected && generation === this.generation
          && this.subscribe(), RETRY_MS);
        return;
      }
      if (ack?.error === "rate_limited") {
        // Over this connection's request or backfill budget: nothing changed; ask again
        // when the server says the budget allows it.
        this.queued = null;
        this.handlers.onError?.(`busy: asking again in ${ack.retry_after} s`);
        setTimeout(() => this.socket.connected && generation === this.generation
          && this.subscribe(), Math.max(RETRY_MS, ack.retry_after * 1000));
        return;
      }
      if (!ack || !ack.ok) {
        this.queued = null;
        this.handlers.onError?.(ack?.error || "subscribe refused");
        // Live samples still come (the subscription stands): draw them in the new window.
        if (whole) this.handlers.onReset?.(window);
        return;
      }
      const queued = this.queued;
      this.queued = null;
      this.handlers.onError?.(null);
      this.handlers.onAck?.(ack);
      if (whole) this.handlers.onReset?.(window);
      this.accept([...historySamples(ack.history, whole), ...queued]);
    });
  }

  onSample(sample) {
    // The previous host's samples may still be on their way just after a switch.
    if (this.host && sample?.host && sample.host !== this.host) return;
    if (this.queued) {
      this.queued.push(sample);
      return;
    }
    this.accept([sample]);
  }

  /** Deliver samples in time order, dropping any at or before the newest one delivered. */
  accept(samples) {
    const { fresh, lastTs } = freshSamples(samples, this.lastTs);
    this.lastTs = lastTs;
    if (fresh.length) this.handlers.onSamples?.(fresh);
  }

  /** Remember the filter (it is sent again after every reconnect) and send it now if we can. */
  setFilter(filter) {
    if (this.closed) return;
    this.filter = filter;
    if (this.socket.connected && !this.starting) this.sendFilter();
  }

  sendFilter() {
    if (!this.filter) return;
    const sent = this.filter;
    this.socket.timeout(SUBSCRIBE_TIMEOUT_MS).emit("filter", sent, (err, ack) => {
      if (sent !== this.filter || this.closed) return; // superseded by a newer filter
      this.handlers.onFilter?.(err ? { ok: false, error: "no answer from the server" } : ack);
    });
  }
}

/** /fleet: `subscribe` takes nothing; its ack and then a `fleet` event each second list every
 * host's summary. */
class FleetChannel extends NamespaceChannel {
  constructor(connection, handlers) {
    super(connection, "/fleet", handlers);
  }

  events() {
    return { fleet: (message) => this.handlers.onHosts?.(message?.hosts || []) };
  }

  subscribe() {
    const generation = ++this.generation;
    this.socket.timeout(SUBSCRIBE_TIMEOUT_MS).emit("subscribe", (err, ack) => {
      if (generation !== this.generation) return;
      if (err || !ack?.ok) {
        this.handlers.onError?.(err ? `no answer to subscribe within ${SUBSCRIBE_TIMEOUT_MS
          / 1000} s` : ack?.error || "subscribe refused");
        setTimeout(() => this.socket.connected && generation === this.generation
          && this.subscribe(), RETRY_MS);
        return;
      }
      this.handlers.onError?.(null);
      this.handlers.onHosts?.(ack.hosts || [], ack.every);
    });
  }
}
