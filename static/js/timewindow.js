// The time window the charts show, one of the server's (its config's `windows`: 5 min, 1 h,
// 24 h, 7 d). The choice comes from the URL (?window=1h, so a link shows what its sender
// saw), else from localStorage, else the server's default; the picker in the top bar
// changes it.

const STORAGE_KEY = "dashboard.window";
const PARAM = "window";

/** The window named `key` among `windows` ({key, seconds, label, title}), or null. */
export function windowByKey(windows, key) {
  return windows.find((w) => w.key === key) || null;
}

/** The key to start with: the URL's, else the remembered one, else `fallback`. */
export function initialWindow(windows, fallback) {
  const fromUrl = new URLSearchParams(window.location.search).get(PARAM);
  if (windowByKey(windows, fromUrl)) return fromUrl;
  let stored = null;
  try {
    stored = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage refused (private window, cookies disabled): start from the default.
  }
  return windowByKey(windows, stored) ? stored : fallback;
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

/**
 * The segmented control: one button per window (data-window, from the template), marked
 * with aria-pressed; arrow keys move between them.
 */
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
    if (!this.buttons.some((b) => b.dataset.window === key) || key === this.selected) return;
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
