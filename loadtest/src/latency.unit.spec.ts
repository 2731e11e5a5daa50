import { describe, expect, it } from 'vitest';
import { LatencyRecorder, runAtRate, runClosedLoop } from './latency.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LatencyRecorder', () => {
  it('reports percentiles in milliseconds', () => {
    const recorder = new LatencyRecorder();
    for (let ms = 1; ms <= 100; ms++) recorder.record(ms);
    const summary = recorder.summary();
    expect(summary.count).toBe(100);
    expect(summary.p50Ms).toBeCloseTo(50, 0);
    expect(summary.p99Ms).toBeCloseTo(99, 0);
    expect(summary.maxMs).toBeCloseTo(100, 0);
  });
});

describe('runClosedLoop', () => {
  it('makes exactly `count` calls with at most `concurrency` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const result = await runClosedLoop({ concurrency: 3, count: 20 }, async () => {
      peak = Math.max(peak, ++inFlight);
      await sleep(1);
      inFlight--;
    });
    expect(result.completed).toBe(20);
    expect(result.failed).toBe(0);
    expect(peak).toBe(3);
    expect(result.latency.count).toBe(20);
  });

  it('counts failures apart from latencies', async () => {
    const result = await runClosedLoop({ concurrency: 2, count: 10 }, async (i) => {
      if (i % 2 === 0) throw new Error(`call ${i} failed`);
    });
    expect(result.completed).toBe(5);
    expect(result.failed).toBe(5);
    expect(result.latency.count).toBe(5);
    expect(String(result.firstError)).toContain('failed');
  });
});

describe('runAtRate', () => {
  it('starts calls on schedule without waiting for earlier ones to finish', async () => {
    let inFlight = 0;
    let peak = 0;
    const result = await runAtRate(200, 250, async () => {
      peak = Math.max(peak, ++inFlight);
      await sleep(40);
      inFlight--;
    });
    expect(result.scheduled).toBe(50);
    expect(result.started).toBe(50);
    expect(result.completed).toBe(50);
    expect(result.latency.count).toBe(50);
    expect(peak).toBeGreaterThan(1); // an open loop: slow calls overlap
  });

  it('is bounded by maxCalls and drops calls beyond maxInFlight', async () => {
    const result = await runAtRate(1_000, 100, () => sleep(30), { maxCalls: 40, maxInFlight: 5 });
    expect(result.scheduled).toBe(40);
    expect(result.started + result.dropped).toBe(40);
    expect(result.dropped).toBeGreaterThan(0);
    expect(result.completed).toBe(result.started);
  });
});
