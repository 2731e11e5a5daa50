/**
 * Waiting helpers for tests of asynchronous delivery. They never give up on
 * their own: the test runner's timeout is the only limit (STYLE.md: no time
 * limits inside tests), so a slow machine makes a test slow, not red.
 */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `condition()` is true, checking every `intervalMs`. */
export const waitUntil = async (condition: () => boolean | Promise<boolean>, intervalMs = 5): Promise<void> => {
  while (!(await condition())) await sleep(intervalMs);
};
