// Touch on the charts. Plotly's own touch handling takes every touch on a chart that can
// zoom, so on a phone, where charts fill the width, the page could not be scrolled by a
// swipe over one. Here a chart keeps its touches from plotly and reads the gesture itself:
// a vertical swipe scrolls the page (the browser's own), one finger swept sideways zooms
// every chart to the swept span, two fingers moved sideways pan a zoomed range. A tap is
// left to the browser, whose mouse events after it reach plotly as a click (the snapshot
// panel). The gesture arithmetic is pure, so Node tests it.

// A finger must move this far (px) before the gesture counts, and mostly sideways to zoom.
export const SLOP_PX = 12;
// A span swept narrower than this (px) is not a zoom (a wobble, not a choice).
export const MIN_SPAN_PX = 24;

/** "scroll" (let the page move), "zoom" (sideways) or null (too little yet). */
export function gestureKind(dx, dy) {
  if (Math.hypot(dx, dy) < SLOP_PX) return null;
  return Math.abs(dx) > 1.5 * Math.abs(dy) ? "zoom" : "scroll";
}

/**
 * The time span (unix s) between two x positions (px, page coordinates) on a plot whose
 * area runs from `left` for `width` px and shows `range` ([start, end], unix s); null when
 * the span is too narrow. Positions outside the plot area are clamped to it.
 */
export function sweptRange(x0, x1, { left, width, range }) {
  if (!(width > 0)) return null;
  const clamp = (x) => Math.min(width, Math.max(0, x - left));
  const [a, b] = [clamp(x0), clamp(x1)].sort((p, q) => p - q);
  if (b - a < MIN_SPAN_PX) return null;
  const [start, end] = range;
  const at = (px) => start + (px / width) * (end - start);
  return { start: at(a), end: at(b) };
}

/** A range moved by a drag of `dx` px on a plot `width` px wide: content follows the fingers. */
export function pannedRange(range, dx, width) {
  if (!range || !(width > 0)) return null;
  const shift = (-dx / width) * (range.end - range.start);
  return { start: range.start + shift, end: range.end + shift };
}

/**
 * Watch `gd`'s touches. plotArea() gives {left, width, range} now (or null: no axis yet);
 * zoomed() the board's zoom range or null; onZoom(range) is called with the new range.
 */
export function watchTouch(gd, { plotArea, zoomed, onZoom }) {
  let start = null;
  let kind = null;
  const finish = () => {
    start = null;
    kind = null;
  };
  const mid = (touches) => [...touches].reduce((sum, t) => sum + t.clientX, 0) / touches.length;
  gd.addEventListener("touchstart", (event) => {
    event.stopPropagation(); // plotly's handler (on the plot inside) would cancel scrolling
    const touch = event.touches[0];
    start = { x: touch.clientX, y: touch.clientY, fingers: event.touches.length,
      mid: mid(event.touches) };
    kind = null;
  }, { capture: true, passive: true });
  gd.addEventListener("touchmove", (event) => {
    event.stopPropagation();
    if (!start) return;
    if (event.touches.length !== start.fingers) {
      finish();
      return;
    }
    const touch = event.touches[0];
    kind ||= gestureKind(touch.clientX - start.x, touch.clientY - start.y);
    if (kind === "zoom" && event.cancelable) event.preventDefault(); // not a page gesture
  }, { capture: true, passive: false });
  gd.addEventListener("touchend", (event) => {
    event.stopPropagation();
    if (!start || kind !== "zoom") {
      if (!event.touches.length) finish();
      return;
    }
    const area = plotArea();
    const last = event.changedTouches;
    const x = start.fingers === 1 ? last[0].clientX : mid(last);
    let range = null;
    if (area && start.fingers === 1) range = sweptRange(start.x, x, area);
    else if (area && zoomed()) range = pannedRange(zoomed(), x - start.mid, area.width);
    finish();
    if (range) onZoom(range);
  }, { capture: true, passive: true });
  gd.addEventListener("touchcancel", finish, { capture: true, passive: true });
}
