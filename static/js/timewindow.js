// The time window the charts show: 5 min, 1 h, 24 h or 7 d. The choice comes from the URL
// (?window=1h, so a link shows what its sender saw), else from localStorage, else 5 min; the
// picker in the top bar changes it.

// The picker's buttons (templates/index.html) carry these keys in data-window.
export const WINDOWS = [
  { key: "5m", seconds: 300 },
  { key: "1h", seconds: 3600 },
  { key: "24h", seconds: 86400 },
  { key: "7d", seconds: 604800 },
];
export const DEFAULT_WINDOW = "5m";
const STORAGE_KEY = "dashboard.window";
const PARAM = "window";
// Up to 5 minutes every sample is drawn; longer windows draw buckets of about this many
// points (1 h: 5 s buckets), so a chart redraws ~1,000 points a second, not 3,600 per trace.
const RAW_WINDOW = 300;
const TARGET_POINTS = 1000;
// The server's bucket widths (dashboard/rollup.py), so live buckets line up with its rollups.
const NICE = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200];

export function windowByKey(key) {
  return WINDOWS.find((w) => w.key === key) || null;
}

/** The bucket width (s) live samples are merged into for this window; 0: draw every sample. */
export function bucketStep(seconds) {
  if (seconds <= RAW_WINDOW) return 0;
  const raw = seconds / TARGET_POINTS;
  return NICE.find((n) => n >= raw) || Math.ceil(raw / 86400) * 86400;
}

/** The window to start with: the URL's, else the remembered one, else the default. */
export function initialWindow() {
  const fromUrl = new URLSearchParams(window.location.search).get(PARAM);
  if (windowByKey(fromUrl)) return fromUrl;
  let stored = null;
  try {
    stored = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage refused (private window, cookies disabled): start from the default.
  }
  return windowByKey(stored) ? stored : DEFAULT_WINDOW;
}

/** Remember a choice the user made; a URL that names a window is kept in step with it. */
export function rememberWindow(key) {
  try {
    window.localStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Not remembered across reloads; the page works the same.
  }
  const url = new URL(window.location.href);
  if (url.searchParams.has(PARAM)) {
    url.searchParams.set(PARAM, key);
    window.history.replaceState(window.history.state, "", url);
  }
}

/** The segmented control: buttons marked with aria-pressed; arrow keys move between them. */
export class WindowPicker {
  constructor({ group, selected, onChange = () => {} }) {
    this.group = group;
    this.onChange = onChange;
    this.buttons = [...group.querySelectorAll("button[data-window]")];
    for (const button of this.buttons) {
      button.addEventListener("click", () => this.choose(button.dataset.window));
    }
    group.addEventListener("keydown", (event) => this.onKey(event));
    this.show(selected);
  }

  choose(key) {
    if (!windowByKey(key) || key === this.selected) return;
    this.show(key);
    this.onChange(key);
  }

  show(key) {
    this.selected = key;
    for (const button of this.buttons) {
      const on = button.dataset.window === key;
      button.setAttribute("aria-pressed", String(on));
    }
    this.group.dataset.window = key;
  }

  /** Left/right (and Home/End) pick the neighbouring window, like a radio group would. */
  onKey(event) {
    const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
    if (!(event.key in moves)) return;
    const current = this.buttons.indexOf(document.activeElement);
    if (current < 0) return;
    event.preventDefault();
    const last = this.buttons.length - 1;
    const next = Math.max(0, Math.min(last, current + moves[event.key]));
    this.buttons[next].focus();
    this.choose(this.buttons[next].dataset.window);
  }
}
