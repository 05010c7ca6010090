import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/** The parts of a V8 `.cpuprofile` (as written by `node --cpu-prof`) that self time needs. */
const cpuProfileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({
        functionName: z.string(),
        url: z.string(),
        lineNumber: z.number(),
      }),
      hitCount: z.number().optional(),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
});

export interface SelfTime {
  /** `name (file:line)`, or V8's `(garbage collector)`, `(idle)`, `(program)`. */
  name: string;
  /** The package it belongs to (`bullmq`, `node:internal`, `@inlet/db`, ...). */
  module: string;
  ms: number;
  /** Share of the busy time (everything but `(idle)`), 0 to 1. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  functions: SelfTime[];
  modules: SelfTime[];
}

/** Where a script URL belongs: its npm package, an Inlet workspace, or Node itself. */
export function moduleOf(url: string): string {
  if (url === '') return '(v8)';
  if (url.startsWith('node:')) return 'node:internal';
  const inNodeModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (inNodeModules?.[1]) return inNodeModules[1];
  const workspace = /\/(apps|packages|bench)\/([^/]+)\//.exec(url);
  if (workspace?.[1] === 'bench') return '@inlet/bench';
  if (workspace?.[2]) return `@inlet/${workspace[2]}`;
  return url;
}

function shortLocation(url: string, line: number): string {
  const inNodeModules = /node_modules\/(.+)$/.exec(url);
  const file = inNodeModules?.[1] ?? url.replace(/^file:\/\/.*?\/((apps|packages|bench)\/)/, '$1');
  return `${file}:${line + 1}`;
}

/** Self time per function and per module, busiest first, from a `.cpuprofile`'s JSON. */
export function summarizeCpuProfile(json: unknown, top = 15): ProfileSummary {
  const profile = cpuProfileSchema.parse(json);
  const totalHits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const msPerHit = totalHits === 0 ? 0 : totalMs / totalHits;
  const byFunction = new Map<string, { module: string; hits: number }>();
  const byModule = new Map<string, number>();
  let idleHits = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleHits += hits;
      continue;
    }
    const module = moduleOf(url);
    const name =
      url === ''
        ? functionName || '(anonymous native)'
        : `${functionName || '(anonymous)'} (${shortLocation(url, lineNumber)})`;
    const entry = byFunction.get(name) ?? { module, hits: 0 };
    entry.hits += hits;
    byFunction.set(name, entry);
    byModule.set(module, (byModule.get(module) ?? 0) + hits);
  }
  const busyHits = Math.max(totalHits - idleHits, 1);
  const functions = [...byFunction]
    .map(([name, { module, hits }]) => ({ name, module, ms: hits * msPerHit, share: hits / busyHits }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
  const modules = [...byModule]
    .map(([module, hits]) => ({ name: module, module, ms: hits * msPerHit, share: hits / busyHits }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
  return { totalMs, idleMs: idleHits * msPerHit, functions, modules };
}

export function formatProfileSummary(label: string, summary: ProfileSummary): string {
  const line = (entry: SelfTime) =>
    `  ${entry.ms.toFixed(0).padStart(7)} ms  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.name}`;
  return [
    `${label}: ${(summary.totalMs / 1000).toFixed(1)} s profiled, ${(summary.idleMs / 1000).toFixed(1)} s idle; ` +
      'self time (share of busy time):',
    ...summary.functions.map(line),
    '  by module:',
    ...summary.modules.map(line),
  ].join('\n');
}

/** Node options that make a child write `<dir>/<slug>.cpuprofile` when it exits; none without a dir. */
export function profileArgs(dir: string | undefined, slug: string): string[] {
  return dir === undefined
    ? []
    : ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${slug}.cpuprofile`];
}

/** Logs the busiest functions of a child's profile once it exited; a missing profile is only mentioned. */
export async function logProfile(
  dir: string | undefined,
  slug: string,
  label: string,
  log: (message: string) => void,
): Promise<void> {
  if (dir === undefined) return;
  const file = path.join(dir, `${slug}.cpuprofile`);
  try {
    const summary = summarizeCpuProfile(JSON.parse(await readFile(file, 'utf8')));
    log(`${formatProfileSummary(label, summary)}\n  profile: ${file}`);
  } catch (error) {
    log(`${label}: no CPU profile (${(error as Error).message})`);
  }
}
