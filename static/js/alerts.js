// Alerts on the page: the /alerts channel (subscribe for the state; `alert`, `silences`,
// `acked` and `rules` pushes; silence and ack requests), the header badge (firing alerts, red for critical, amber for warning)
// and the panel it opens (firing, pending, silenced, recent transitions), where a click on
// an alert opens its chart and each alert can be silenced (for a while, with a comment) or
// acknowledged. The data logic is in alertsdata.js; the charts draw the overlay.

import { addTransition, alertKey, applyAck, applySilences, applyTransition, badgeCounts,
  panelGroups, silenceMatchers } from "./alertsdata.js";
import { NamespaceChannel } from "./connection.js";
import { formatClock, formatDuration, formatValue } from "./format.js";

const REQUEST_TIMEOUT_MS = 8000;
const RETRY_MS = 3000;
const DURATIONS = [["30 min", 1800], ["1 h", 3600], ["4 h", 14400], ["1 day", 86400],
  ["7 days", 604800]];
const SCOPES = [["alert", "this alert"], ["host", "this rule on this host"],
  ["rule", "this rule everywhere"]];

/**
 * /alerts: `subscribe` acks {alerts, transitions, silences, rules, restarts}; `alert`,
 * `silences` and `acked` pushes follow, whoever made the change, so the page never polls.
 * Every (re)connect subscribes again (NamespaceChannel): what was missed meanwhile.
 */
export class AlertsChannel extends NamespaceChannel {
  /** handlers: onState(ack), onTransition(transition), onSilences(silences),
   * onAcked({rule, host, series, acked, by}), onError(message or null). */
  constructor(connection, handlers) {
    super(connection, "/alerts", handlers);
    connection.add(this);
  }

  events() {
    return {
      alert: (transition) => this.handlers.onTransition?.(transition),
      silences: (body) => this.handlers.onSilences?.(body?.silences || []),
      acked: (news) => this.handlers.onAcked?.(news),
      rules: (body) => this.handlers.onRules?.(body?.rules || []),
    };
  }

  subscribe() {
    const generation = ++this.generation;
    this.socket.timeout(REQUEST_TIMEOUT_MS).emit("subscribe", (err, ack) => {
      if (generation !== this.generation) return;
      if (err || !ack?.ok) {
        this.handlers.onError?.(err ? "no answer from the server" : ack?.error || "refused");
        if (ack?.error?.startsWith("alerts are disabled")) return this.close();
        setTimeout(() => this.socket.connected && generation === this.generation
          && this.subscribe(), RETRY_MS);
        return;
      }
      this.handlers.onError?.(null);
      this.handlers.onState?.(ack);
    });
  }
}

/**
 * The page's alerts: state from the channel, the badge and the panel. onChange(state) after
 * every change ({rules, alerts, transitions, silences, restarts}); onOpen(alert) for a click on one.
 */
export class Alerts {
  constructor({ connection, badge, panel, onChange, onOpen }) {
    this.state = { rules: [], alerts: [], transitions: [], silences: [], restarts: [] };
    this.onChange = onChange;
    this.badge = new AlertsBadge(badge, () => this.panel.toggle());
    this.panel = new AlertsPanel(panel, {
      onOpen,
      onSilence: (alert, form) => this.silence(alert, form),
      onAck: (alert) => this.ack(alert),
      onEnd: (silence) => this.endSilence(silence),
      onClose: () => this.badge.expanded(false),
      onShow: () => this.badge.expanded(true),
    });
    this.channel = new AlertsChannel(connection, {
      onState: (ack) => this.replace(ack),
      onTransition: (transition) => this.transition(transition),
      onSilences: (silences) => this.silences(silences),
      onAcked: (news) => this.acked(news),
      onRules: (rules) => this.rules(rules),
      onError: (message) => this.panel.setError(message),
    });
  }

  replace(ack) {
    this.state = { rules: ack.rules || [], alerts: ack.alerts || [],
      transitions: ack.transitions || [], silences: ack.silences || [],
      restarts: ack.restarts || [] };
    this.changed();
  }

  transition(transition) {
    const transitions = addTransition(this.state.transitions, transition);
    if (transitions === this.state.transitions) return; // a copy of one the ack had
    this.state = { ...this.state, transitions,
      alerts: applyTransition(this.state.alerts, transition) };
    this.changed();
  }

  /** A `silences` push: the active silences, and which alerts they hold now. */
  silences(silences) {
    this.state = { ...this.state, silences,
      alerts: applySilences(this.state.alerts, silences) };
    this.changed();
  }

  /** A `rules` push: a reload changed the rules; the charts redraw their thresholds. */
  rules(rules) {
    this.state = { ...this.state, rules };
    this.changed();
  }

  acked(news) {
    const alerts = applyAck(this.state.alerts, news);
    if (alerts === this.state.alerts) return; // this page's own ack, applied from its answer
    this.state = { ...this.state, alerts };
    this.changed();
  }

  changed() {
    this.badge.show(badgeCounts(this.state.alerts));
    this.panel.show(this.state);
    this.onChange(this.state);
  }

  async silence(alert, { seconds, comment, scope }) {
    const ack = await this.channel.request("silence", { matchers: silenceMatchers(alert, scope),
      ends: Date.now() / 1000 + seconds, comment });
    return ack; // the `silences` push that follows shows the alerts it covers as silenced
  }

  async ack(alert) {
    const ack = await this.channel.request("ack", { rule: alert.rule, host: alert.host,
      series: alert.series });
    if (ack.ok && ack.alert) {
      const key = alertKey(ack.alert);
      this.state = { ...this.state,
        alerts: this.state.alerts.map((a) => (alertKey(a) === key ? ack.alert : a)) };
      this.changed();
    }
    return ack;
  }

  /** End a silence now (DELETE /api/silences/<id>, with the page's CSRF token). */
  async endSilence(silence) {
    const token = document.querySelector('.logout input[name="csrf"]')?.value;
    const headers = { Accept: "application/json" };
    if (token) headers["X-CSRF-Token"] = token;
    try {
      const response = await fetch(`/api/silences/${encodeURIComponent(silence.id)}`,
        { method: "DELETE", headers });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) return { ok: false, error: body.error || `HTTP ${response.status}` };
    } catch (err) {
      return { ok: false, error: err.message };
    }
    return { ok: true }; // the `silences` push that follows drops it from the panel
  }
}

/** The header badge: how many alerts fire (not silenced); hidden when nothing is going on. */
class AlertsBadge {
  constructor(button, onClick) {
    this.button = button;
    this.count = button.querySelector(".alerts-count");
    this.word = button.querySelector(".alerts-word");
    this.shown = "";
    button.addEventListener("click", onClick);
  }

  show(counts) {
    const key = JSON.stringify(counts);
    if (key === this.shown) return;
    this.shown = key;
    this.button.hidden = counts.level === null;
    this.button.dataset.level = counts.level || "none";
    const quiet = counts.firing === 0;
    const number = quiet ? counts.pending + counts.silenced : counts.firing;
    this.count.textContent = String(number);
    this.word.textContent = quiet ? (counts.pending ? "pending" : "silenced") : "firing";
    const parts = [`${counts.critical} critical`, `${counts.warning} warning`,
      `${counts.pending} pending`, `${counts.silenced} silenced`];
    this.button.title = `Alerts: ${parts.join(", ")}`;
  }

  expanded(open) {
    this.button.setAttribute("aria-expanded", String(open));
  }
}

/** The panel under the header; drawn only while open. */
class AlertsPanel {
  constructor(panel, handlers) {
    this.panel = panel;
    this.handlers = handlers;
    this.state = null;
    this.error = null;
    this.drawn = "";
    this.formFor = null; // the alert whose silence form is open (kept across redraws)
    this.draft = null; // what was typed into it so far
    this.body = panel.querySelector(".alerts-body");
    this.errorLine = panel.querySelector(".alerts-error");
    panel.querySelector(".alerts-close").addEventListener("click", () => this.close());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.panel.hidden) this.close();
    });
  }

  get open() {
    return !this.panel.hidden;
  }

  toggle() {
    if (this.open) this.close();
    else {
      this.panel.hidden = false;
      this.handlers.onShow();
      this.render();
    }
  }

  close() {
    this.panel.hidden = true;
    this.formFor = null;
    this.handlers.onClose();
  }

  setError(message) {
    this.error = message;
    this.errorLine.hidden = !message;
    this.errorLine.textContent = message ? `Alerts: ${message}` : "";
  }

  show(state) {
    this.state = state;
    if (this.open) this.render();
  }

  render() {
    if (!this.state) return;
    const key = JSON.stringify([this.state.alerts, this.state.silences,
      this.state.transitions.slice(-25), this.formFor, this.draft?.error]);
    if (key === this.drawn) return;
    this.drawn = key;
    const groups = panelGroups(this.state.alerts, this.state.transitions);
    const now = Date.now() / 1000;
    this.body.replaceChildren(
      this.section("Firing", groups.firing, (a) => this.alertItem(a, now), "Nothing is firing."),
      this.section("Pending", groups.pending, (a) => this.alertItem(a, now)),
      this.section("Silenced", groups.silenced, (a) => this.alertItem(a, now)),
      this.section("Silences", this.state.silences, (s) => this.silenceItem(s)),
      this.section("Recent", groups.recent, (t) => this.transitionItem(t),
        "No transitions yet."),
    );
  }

  section(title, items, draw, empty = null) {
    const section = document.createElement("section");
    section.className = "alerts-section";
    section.dataset.group = title.toLowerCase();
    if (!items.length && !empty) {
      section.hidden = true;
      return section;
    }
    const heading = document.createElement("h3");
    heading.textContent = items.length ? `${title} · ${items.length}` : title;
    section.append(heading);
    if (!items.length) {
      section.append(text("p", "alerts-empty", empty));
      return section;
    }
    const list = document.createElement("ul");
    list.append(...items.map(draw));
    section.append(list);
    return section;
  }

  alertItem(alert, now) {
    const item = document.createElement("li");
    item.className = "alert-item";
    item.dataset.state = alert.state;
    item.dataset.key = alertKey(alert);
    const open = document.createElement("button");
    open.type = "button";
    open.className = "alert-open";
    open.title = `Show ${alert.series} on ${alert.host}`;
    const value = formatValue(alert.value, alert.unit);
    const threshold = alert.threshold === null || alert.threshold === undefined ? ""
      : ` · threshold ${formatValue(alert.threshold, alert.unit)}`;
    open.append(
      text("span", "alert-state", alert.state),
      text("span", "alert-rule", alert.rule),
      text("span", "alert-where", `${alert.host} · ${alert.series}`),
      text("span", "alert-value", `${value}${threshold} · for ${formatDuration(now
        - alert.since)}${alert.acked ? " · acked" : ""}`),
    );
    if (alert.summary) open.append(text("span", "alert-summary", alert.summary));
    open.addEventListener("click", () => this.handlers.onOpen(alert));
    item.append(open);
    if (alert.silenced) return item;
    const actions = document.createElement("div");
    actions.className = "alert-actions";
    const silence = button("Silence…", "alert-silence", () => {
      this.formFor = this.formFor === item.dataset.key ? null : item.dataset.key;
      this.draft = this.formFor ? { duration: "3600", scope: "alert", comment: "" } : null;
      this.render();
      this.body.querySelector(".silence-form input[name=comment]")?.focus();
    });
    actions.append(silence);
    if (alert.state === "warning" || alert.state === "critical") {
      const ack = button(alert.acked ? "Acked" : "Ack", "alert-ack", async () => {
        ack.disabled = true;
        const answer = await this.handlers.onAck(alert);
        if (!answer.ok) this.setError(answer.error);
        ack.disabled = false;
      });
      ack.disabled = alert.acked;
      ack.title = "Acknowledge: no repeat notifications until its state changes";
      actions.append(ack);
    }
    item.append(actions);
    if (this.formFor === item.dataset.key) item.append(this.silenceForm(alert));
    return item;
  }

  silenceForm(alert) {
    const form = document.createElement("form");
    form.className = "silence-form";
    const draft = this.draft;
    const duration = select("duration", DURATIONS.map(([label, s]) => [String(s), label]),
      draft.duration);
    const scope = select("scope", SCOPES, draft.scope);
    const comment = document.createElement("input");
    Object.assign(comment, { name: "comment", required: true, maxLength: 1000,
      placeholder: "Why? (required)", value: draft.comment });
    // A push redraws the panel: what was typed so far goes into the new form.
    form.addEventListener("input", () => Object.assign(draft, { duration: duration.value,
      scope: scope.value, comment: comment.value }));
    comment.setAttribute("aria-label", "Comment");
    const error = text("p", "form-error", "");
    error.hidden = true;
    const submit = button("Silence", "silence-submit", null);
    submit.type = "submit";
    const cancel = button("Cancel", "silence-cancel", () => {
      this.formFor = null;
      this.render();
    });
    form.append(duration, scope, comment, submit, cancel, error);
    if (draft.error) {
      error.hidden = false;
      error.textContent = draft.error;
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!comment.value.trim()) {
        error.hidden = false;
        error.textContent = draft.error = "Say why you silence it.";
        return;
      }
      submit.disabled = true;
      const answer = await this.handlers.onSilence(alert, { seconds: Number(duration.value),
        scope: scope.value, comment: comment.value.trim() });
      submit.disabled = false;
      if (!answer.ok) {
        error.hidden = false;
        error.textContent = draft.error = answer.error;
        return;
      }
      this.formFor = null;
      this.draft = null;
      this.render();
    });
    return form;
  }

  silenceItem(silence) {
    const item = document.createElement("li");
    item.className = "silence-item";
    item.dataset.id = silence.id;
    const matchers = Object.entries(silence.matchers).map(([k, v]) => `${k}=${v}`).join(" ")
      || "everything";
    item.append(
      text("span", "silence-matchers", matchers),
      text("span", "silence-ends", `until ${when(silence.ends)}`),
      text("span", "silence-comment", silence.comment),
      button("End", "silence-end", async () => {
        const answer = await this.handlers.onEnd(silence);
        if (!answer.ok) this.setError(answer.error);
      }),
    );
    return item;
  }

  transitionItem(t) {
    const item = document.createElement("li");
    item.className = "transition-item";
    item.dataset.state = t.state;
    item.append(
      text("time", "transition-time", formatClock(new Date(t.ts * 1000))),
      text("span", "transition-what", `${t.rule} · ${t.host} · ${t.series}`),
      text("span", "transition-move", `${t.from} → ${t.state}`),
    );
    return item;
  }
}

/** A moment to come: its clock time today, with the date beyond the next 20 hours. */
function when(ts) {
  const date = new Date(ts * 1000);
  if (ts - Date.now() / 1000 < 72000) return formatClock(date);
  return date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit",
    minute: "2-digit", hour12: false });
}

function text(tag, className, content) {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = content;
  return element;
}

function button(label, className, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = className;
  element.textContent = label;
  if (onClick) element.addEventListener("click", onClick);
  return element;
}

function select(name, options, value) {
  const element = document.createElement("select");
  element.name = name;
  element.setAttribute("aria-label", name);
  element.append(...options.map(([v, label]) => new Option(label, v)));
  element.value = value;
  return element;
}
