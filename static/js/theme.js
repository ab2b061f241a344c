// Light or dark: the system's prefers-color-scheme, unless the top bar's toggle chose one,
// which is remembered (localStorage) and set as data-theme on <html> (the CSS's colours are
// light-dark() pairs that follow it). themeboot.js applies a remembered choice before the
// first paint; this module keeps the toggle, and tells the charts, which take resolved colours.

export const STORAGE_KEY = "dashboard.theme";
const LIGHT = "(prefers-color-scheme: light)";

/** The remembered choice, "light" or "dark", or null (follow the system). */
export function storedTheme() {
  try {
    const value = window.localStorage.getItem(STORAGE_KEY);
    return value === "light" || value === "dark" ? value : null;
  } catch {
    return null; // storage refused: follow the system
  }
}

/** The theme shown now. */
export function currentTheme() {
  return storedTheme() || (window.matchMedia(LIGHT).matches ? "light" : "dark");
}

/**
 * What a CSS colour (a custom property such as "--series-1", or any colour) resolves to in
 * the theme shown, as rgb()/rgba() text; `fallback` where it resolves to nothing.
 */
export function resolveColor(value, fallback) {
  const probe = colorProbe();
  probe.style.color = "";
  probe.style.color = value.startsWith("--") ? `var(${value})` : value;
  const resolved = probe.style.color ? getComputedStyle(probe).color : "";
  return resolved || fallback;
}

let probeElement = null;

function colorProbe() {
  if (!probeElement || !probeElement.isConnected) {
    probeElement = document.createElement("span");
    probeElement.hidden = true;
    probeElement.setAttribute("aria-hidden", "true");
    document.body.append(probeElement);
  }
  return probeElement;
}

/** The toggle button: it flips the theme shown, remembers it, and calls onChange(theme). */
export class ThemeToggle {
  constructor({ button, onChange = () => {} }) {
    this.button = button;
    this.onChange = onChange;
    button.addEventListener("click", () => this.choose(currentTheme() === "light" ? "dark"
      : "light"));
    // The system switching (a laptop at dusk) moves the page along unless a choice was made.
    window.matchMedia(LIGHT).addEventListener("change", () => {
      if (!storedTheme()) this.changed();
    });
    this.render();
  }

  choose(theme) {
    try {
      window.localStorage.setItem(STORAGE_KEY, theme);
    } catch {
      // Not remembered across reloads; this page still switches.
    }
    document.documentElement.dataset.theme = theme;
    this.changed();
  }

  changed() {
    this.render();
    this.onChange(currentTheme());
  }

  render() {
    const next = currentTheme() === "light" ? "dark" : "light";
    this.button.dataset.theme = currentTheme();
    this.button.setAttribute("aria-label", `Switch to the ${next} theme`);
    this.button.title = `Switch to the ${next} theme`;
  }
}
