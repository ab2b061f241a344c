// Human formatting of values and axis ticks: binary prefixes for bytes, SI for counts.

const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const SI = ["", "k", "M", "G", "T", "P"];
const EMPTY = "—";

/** "bytes" -> "", "bytes/s" -> "/s"; null if the unit is not a byte unit. */
export function byteSuffix(unit) {
  const match = /^(?:bytes|B)(\/.*)?$/.exec(unit || "");
  return match ? match[1] || "" : null;
}

/** Up to three significant digits, trailing zeros dropped: 0.52, 12.3, 143. */
export function compact(value) {
  const size = Math.abs(value);
  const digits = size >= 100 ? 0 : size >= 10 ? 1 : 2;
  return String(Number(value.toFixed(digits)));
}

function scaled(value, base, prefixes) {
  let power = 0;
  while (Math.abs(value) >= base && power < prefixes.length - 1) {
    value /= base;
    power += 1;
  }
  return [value, prefixes[power]];
}

export function formatBytes(value, suffix = "") {
  if (value == null || !Number.isFinite(value)) return EMPTY;
  const [number, prefix] = scaled(value, 1024, BINARY);
  return `${compact(number)} ${prefix}${suffix}`;
}

/** A value with its unit for legends, hover text and the big headline numbers. */
export function formatValue(value, unit) {
  if (value == null || !Number.isFinite(value)) return EMPTY;
  const bytes = byteSuffix(unit);
  if (bytes !== null) return formatBytes(value, bytes);
  if (unit === "%") return `${value.toFixed(1)} %`;
  const [number, prefix] = scaled(value, 1000, SI);
  const text = compact(number) + prefix;
  return unit ? `${text} ${unit}` : text;
}

/** The headline number split in two, so the unit can be drawn smaller. */
export function splitValue(value, unit) {
  const text = formatValue(value, unit);
  const space = text.indexOf(" ");
  return space < 0 ? [text, ""] : [text.slice(0, space), text.slice(space + 1)];
}

function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 2.5, 5, 10]) {
    if (factor * magnitude >= raw) return factor * magnitude;
  }
  return 10 * magnitude;
}

/**
 * A y axis for values in [low, high]: always includes 0, about four ticks, labels in one
 * prefix (0, 0.5 GiB, 1 GiB ...). Returns {range, tickvals, ticktext}.
 */
export function axisTicks(low, high, unit) {
  const bytes = byteSuffix(unit);
  // Rounding can put a busy % a hair over 100 (100.00000000000001): still the 0–100 axis.
  if (unit === "%" && low >= 0 && high <= 100.5) {
    const tickvals = [0, 25, 50, 75, 100];
    return { range: [0, 100], tickvals, ticktext: tickvals.map((v) => `${v}%`) };
  }
  const base = bytes !== null ? 1024 : 1000;
  const prefixes = bytes !== null ? BINARY : SI;
  const span = Math.max(Math.abs(low), Math.abs(high)) || (bytes !== null ? 1024 : 1);
  let power = 0;
  const percent = unit === "%";
  while (!percent && span / base ** power >= base && power < prefixes.length - 1) power += 1;
  const unitSize = base ** power;
  const step = niceStep(span / unitSize / 4) * unitSize;
  const bottom = Math.min(0, Math.floor(low / step) * step);
  let top = high > 0 ? Math.max(step, Math.ceil(high / step) * step) : 4 * step;
  if (high > 0 && high > top - step * 0.1) top += step; // headroom above the highest point
  const tickvals = [];
  for (let v = bottom; v <= top + step / 2; v += step) tickvals.push(Number(v.toPrecision(12)));
  const label = bytes !== null ? ` ${prefixes[power]}` : percent ? "%" : prefixes[power];
  const ticktext = tickvals.map((v) => (v === 0 && !percent ? "0" : compact(v / unitSize) + label));
  return { range: [bottom, top], tickvals, ticktext };
}

// One formatter for every clock on the page: toLocaleTimeString builds a new one per call,
// and the page shows a clock at every redraw.
let clockFormat = null;

export function formatClock(date) {
  clockFormat ||= new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false });
  return clockFormat.format(date);
}

/** "45 s", "12 min", "3 h 5 min", "2 d 4 h": how long something has held. */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** A moment's clock time, with its date in front when it is not today. */
export function formatMoment(ts) {
  const date = new Date(ts * 1000);
  if (new Date().toDateString() === date.toDateString()) return formatClock(date);
  return `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${formatClock(date)}`;
}
