/**
 * slonik logs through roarr, which adds an 'error' listener to process.stdout when it loads and keeps the way to
 * remove it in its global state (`globalThis.ROARR.teardown`). Jest loads the modules again for every test
 * file, in that file's own global, while process.stdout is the worker's: without this, one listener per file
 * piles up (MaxListenersExceededWarning after ten files in a worker). A server process loads roarr once.
 */
afterAll(() => {
  (globalThis as { ROARR?: { teardown?: () => void } }).ROARR?.teardown?.();
});
