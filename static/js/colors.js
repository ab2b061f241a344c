// Colours as plotly takes them. The page's colours are CSS custom properties holding
// light-dark() pairs, which only the browser can resolve (theme.js); what comes back is
// rgb()/rgba() text, or #rrggbb from older values. Pure functions, so Node can test them.

/** `color` (#rrggbb, rgb() or rgba()) with its alpha set to `alpha`; anything else as it is. */
export function translucent(color, alpha) {
  const text = String(color || "").trim();
  const hex = /^#([0-9a-f]{6})$/i.exec(text);
  if (hex) {
    const n = parseInt(hex[1], 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
  }
  const rgb = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*[\d.]+%?)?\s*\)$/i
    .exec(text);
  if (rgb) return `rgba(${rgb[1]},${rgb[2]},${rgb[3]},${alpha})`;
  return color;
}
