'use strict';
// The load every Node emitter app runs: LEAK=1 keeps ~100 kB more of V8 heap every second
// (arrays of small integers, on the heap, not Buffers, which live outside it); LEAK=0 allocates
// the same and drops it (a ring of the last 3), so its heap stays flat after warm-up. Both twins churn
// short-lived objects (~1 MB/s) so the young generation is collected every few seconds.

const ELEMENTS = 1250; // ~10 kB per chunk (8-byte slots)
const PER_SECOND = 10;
const RING = 3; // 0.3 s: the healthy chunks die young, never promoted to the old generation

function start() {
  const leak = process.env.LEAK === '1';
  const kept = [];
  let i = 0;
  setInterval(() => {
    i += 1;
    kept.push(new Array(ELEMENTS).fill(i));
    if (!leak && kept.length > RING) kept.shift();
    let garbage = [];
    for (let k = 0; k < 2000; k += 1) garbage.push({ k, s: `x${k}` });
    garbage = null;
  }, 1000 / PER_SECOND);
  // The tests compress time (gc_period 10s where services have minutes): with --expose-gc the
  // full collection that V8 would run every few minutes runs every 5 s, so 10 s troughs are
  // post-GC values. Without the flag V8 decides, as in production.
  if (typeof global.gc === 'function') setInterval(() => global.gc(), 5000).unref();
  return leak;
}

module.exports = { start };
