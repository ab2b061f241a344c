// Time on the charts: the bucket width a window's live samples are merged into, the running
// average of a bucket, and where a line must break for an outage. Pure functions (no DOM, no
// Plotly), so Node can test them.

// Up to 5 minutes every sample is drawn; longer windows draw buckets, about as many a window
// as the server's history holds (1 h: 5 s buckets), so a chart redraws ~1,000 points a
// second, not 3,600 per trace.
const RAW_WINDOW = 300;
const DAY = 86400;

/**
 * The bucket width (s) live samples are merged into for a window of `seconds`; 0: draw
 * every sample. `steps` are the server's rollup widths (its config's bucket_steps, in
 * ascending order), so live buckets line up with the history it sends; `points` is how many
 * points its history holds at most (max_points).
 */
export function bucketStep(seconds, steps, points) {
  if (seconds <= RAW_WINDOW) return 0;
  const raw = seconds / points;
  return steps.find((n) => n >= raw) || Math.ceil(raw / DAY) * DAY;
}

/**
 * Whether a sample is merged into the window's buckets (`step` > 0): a live or catch-up
 * sample finer than the step is; the window's own history (`whole`) is drawn as it came.
 */
export function isBucketed(sample, step) {
  return step > 0 && !sample.whole && (sample.step || 0) < step;
}

/** The bucket a sample at `ts` falls in: buckets are aligned to multiples of `step`. */
export function bucketKey(ts, step) {
  return Math.floor(ts / step);
}

/** One bucket's running average per series: the average of its numbers so far. */
export class Bucket {
  constructor(key) {
    this.key = key;
    this.sums = new Map();
  }

  /**
   * Add one reading of `series` (not a finite number: counted as no reading). Returns the
   * average so far (null while there is none) and whether it was the series' first here.
   */
  add(series, value) {
    let sum = this.sums.get(series);
    const first = !sum;
    if (first) {
      sum = { total: 0, count: 0 };
      this.sums.set(series, sum);
    }
    if (Number.isFinite(value)) {
      sum.total += value;
      sum.count += 1;
    }
    return { average: sum.count ? sum.total / sum.count : null, first };
  }
}

/**
 * Where (unix s) to break the line before a point at `ts` averaged over `step` seconds, or
 * null. An outage (server restart, a failing collector) is not bridged: the threshold is
 * three times the spacing of the points either side (at least 5 s), so rollups of a long
 * window (a minute or more apart) are not all drawn as gaps. The first argument describes
 * the points so far: lastTs (undefined before the first), lastStep, the collector's interval.
 */
export function gapBefore({ lastTs, lastStep, interval }, ts, step) {
  const spacing = Math.max(interval || 1, step, lastStep);
  if (lastTs !== undefined && ts - lastTs > Math.max(3 * spacing, 5)) return lastTs + spacing;
  return null;
}
