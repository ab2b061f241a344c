// Samples as they come off the wire: the subscribe ack's columnar history turned into
// sample-like objects, and de-duplication by timestamp. Pure functions (no DOM), so Node
// can test them.

/**
 * The samples newer than `lastTs` (null: none delivered yet) and than each other, in their
 * order; any with a ts that is not a number is dropped. Returns them with the new `lastTs`.
 */
export function freshSamples(samples, lastTs) {
  const fresh = [];
  let newest = lastTs;
  for (const sample of samples) {
    if (typeof sample?.ts !== "number" || (newest !== null && sample.ts <= newest)) continue;
    newest = sample.ts;
    fresh.push(sample);
  }
  return { fresh, lastTs: newest };
}

/**
 * The subscribe ack's columnar history as sample-like objects. `step` is the width in
 * seconds each one was averaged over (0: a stored sample as it was taken); `whole` marks
 * the history of a whole window, which the server has already cut to its point budget.
 */
export function historySamples(history, whole) {
  const ts = history?.ts || [];
  const columns = Object.entries(history?.values || {});
  const step = Number(history?.step) || 0;
  return ts.map((t, i) => {
    const values = {};
    for (const [name, column] of columns) values[name] = column[i];
    return { ts: t, values, backfill: true, step, whole };
  });
}
