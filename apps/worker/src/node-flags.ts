/**
 * Node options the worker runs with, wherever it is started (its `start` script, compose, `npm
 * start`, the benchmark). A worker holds hundreds of events in flight while their batch commits,
 * and V8's default 16 MB semi-space makes each young-generation collection copy them again and
 * again: at 64 MB those collections run a third as often and the worker spends about half as
 * much CPU on them, for some 100 MB more resident memory.
 */
export const workerNodeFlags: readonly string[] = ['--max-semi-space-size=64'];
