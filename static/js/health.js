// The health strip: polls /healthz and shows each collector's state; failing ones in red with
// their last error on hover (the collector's cards show it inline too, through onHealth).
// The history store's state goes to onHistory: a banner when samples are not being saved;
// the queue's (scale-out: Redis between agents and web processes) to onQueue.

const GOOD = new Set(["ok"]);
const QUIET = new Set(["starting"]);

function describe(name, health) {
  const parts = [`${name}: ${health.state}`];
  if (health.last_error) parts.push(`last error: ${health.last_error}`);
  parts.push(`${health.runs ?? 0} runs, ${health.failures ?? 0} failures`);
  if (health.skipped) parts.push(`${health.skipped} skipped`);
  if (typeof health.last_duration === "number") {
    parts.push(`last run took ${(health.last_duration * 1000).toFixed(1)} ms`);
  }
  return parts.join("\n");
}

function stateClass(state) {
  if (GOOD.has(state)) return "is-ok";
  if (QUIET.has(state)) return "is-starting";
  return "is-failing";
}

export class HealthStrip {
  constructor({ strip, intervalMs = 5000, onHealth = () => {}, onHistory = () => {},
    onPlugins = () => {}, onQueue = () => {} }) {
    this.strip = strip;
    this.intervalMs = intervalMs;
    this.onHealth = onHealth;
    this.onHistory = onHistory;
    this.onPlugins = onPlugins;
    this.onQueue = onQueue;
    this.chips = new Map();
    this.timer = 0;
  }

  /** Draw the health embedded in the page at once, then poll. */
  start(initial = {}) {
    this.render(initial);
    this.onHealth(initial);
    this.poll();
  }

  async poll() {
    try {
      const response = await fetch("/healthz", { cache: "no-store",
        headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      this.strip.classList.remove("is-stale");
      this.strip.removeAttribute("title");
      this.render(body.collectors || {});
      this.onHealth(body.collectors || {});
      this.onHistory(body.history || null);
      this.onPlugins(body.plugins?.errors || []);
      this.onQueue(body.queue || null);
    } catch (err) {
      this.strip.classList.add("is-stale");
      this.strip.title = `health unavailable: ${err.message}`;
    } finally {
      this.timer = setTimeout(() => this.poll(), this.intervalMs);
    }
  }

  render(collectors) {
    for (const [name, health] of Object.entries(collectors)) {
      let chip = this.chips.get(name);
      if (!chip) {
        chip = document.createElement("li");
        chip.className = "health-chip";
        chip.dataset.collector = name;
        chip.append(document.createElement("i"), document.createTextNode(name));
        chip.tabIndex = 0;
        this.chips.set(name, chip);
        this.strip.append(chip);
      }
      chip.classList.remove("is-ok", "is-starting", "is-failing");
      chip.classList.add(stateClass(health.state));
      chip.dataset.state = health.state;
      chip.title = describe(name, health);
      chip.setAttribute("aria-label", chip.title);
    }
  }
}

/** The text a card shows for an unhealthy collector, or null when it is fine. */
export function healthProblem(health) {
  if (!health || GOOD.has(health.state) || QUIET.has(health.state)) return null;
  return `Collector ${health.state}${health.last_error ? `: ${health.last_error}` : ""}`;
}

/** The banner under the top bar while the history file cannot be used. */
export class HistoryBanner {
  constructor(banner) {
    this.banner = banner;
    this.text = banner.querySelector(".banner-text");
    this.shown = null;
  }

  show(history) {
    const problem = history?.state === "degraded"
      ? sentence(history.error || "the history file cannot be used") : null;
    if (problem === this.shown) return; // unchanged: don't re-announce it every poll
    this.shown = problem;
    this.banner.hidden = !problem;
    // The server's sentences say what to do; add that the page carries on, unless they do.
    this.text.textContent = !problem ? "" : /memory/i.test(problem) ? problem
      : `${problem} Live charts continue from memory.`;
  }
}

// Queue states that are not a problem: connected, or still making its first connection.
const QUEUE_FINE = new Set(["ok", "starting"]);

/** The banner under the top bar while the web process cannot read the agents' queue. */
export class QueueBanner {
  constructor(banner) {
    this.banner = banner;
    this.text = banner.querySelector(".banner-text");
    this.shown = null;
  }

  /** queue: /healthz's "queue" ({state, error, ...}), or null without one. */
  show(queue) {
    const problem = queue && !QUEUE_FINE.has(queue.state)
      ? sentence(queue.error || `the queue is ${queue.state}`) : null;
    if (problem === this.shown) return; // unchanged: don't re-announce it every poll
    this.shown = problem;
    this.banner.hidden = !problem;
    this.banner.dataset.state = queue?.state || "";
    this.text.textContent = problem ? `${problem} The page shows what this server already has.`
      : "";
  }
}

/** The banner listing plugins that failed to load (each with where it came from and the fix). */
export class PluginBanner {
  constructor(banner) {
    this.banner = banner;
    this.list = banner.querySelector(".banner-list");
    this.shown = "";
  }

  show(errors) {
    const lines = errors.map((e) => `${e.plugin} (${e.origin}): ${e.error}`);
    const key = lines.join("\n");
    if (key === this.shown) return; // unchanged: don't re-announce it every poll
    this.shown = key;
    this.banner.hidden = !lines.length;
    this.list.replaceChildren(...lines.map((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }));
  }
}

/** The server's text as the end of a sentence (it starts lowercase, after our title). */
function sentence(text) {
  const trimmed = String(text).trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
