import type { PhaseCpu, ProcessCpu } from './cpu-meter.js';
import type { TableRow, TargetResult } from './results.js';

const rate = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number | null) =>
  value === null ? '-' : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
const percent = (share: number) => `${Math.round(share * 100)}%`;

function alignedTable(header: readonly string[], cells: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]?.length ?? 0)),
  );
  const format = (line: readonly string[]) =>
    line
      .map((cell, column) =>
        column === 0 || column === line.length - 1
          ? cell.padEnd(widths[column] ?? 0)
          : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [format(header), rule, ...cells.map(format)];
}

/** The figures of one run as a plain-text table, one line per phase, grouped. */
export function formatTable(rows: readonly TableRow[]): string {
  const header = ['phase', 'per second', 'p50', 'p99', 'peak RSS', 'compared'];
  const cells = rows.map((row) => [
    `${row.group.padEnd(6)} ${row.phase}`,
    `${rate(row.perSecond)} ${row.unit}`,
    ms(row.p50Ms),
    ms(row.p99Ms),
    row.peakRss.map((entry) => (entry.mb === null ? '-' : `${entry.mb} MB`)).join(' + ') || '-',
    row.versus.join(', '),
  ]);
  return [
    ...alignedTable(header, cells),
    'p50/p99: latency of the 202 answers (ingest), lag from 202 to committed row (e2e); ' +
      'peak RSS: ingest + worker for e2e',
  ].join('\n');
}

function processCell(name: string, usage: ProcessCpu | null): string {
  if (usage === null) return `${name} -`;
  const perEvent = usage.cpu_us_per_event === null ? '' : `${usage.cpu_us_per_event} µs `;
  return `${name} ${perEvent}${percent(usage.share)}`;
}

/** Where the CPU of each phase went: µs per event and share of the machine, and what bound it. */
export function formatCpu(rows: readonly TableRow[], cpu: Readonly<Record<string, PhaseCpu>>): string {
  const lines: string[] = [];
  const cores = Object.values(cpu)[0]?.cores;
  lines.push(
    `CPU per event (µs) and share of the machine's ${cores ?? '?'} cores, per phase; ` +
      'redis and postgres count every client of those servers:',
  );
  for (const row of rows) {
    const phase = row.cpuKey === undefined ? undefined : cpu[row.cpuKey];
    if (phase === undefined) continue;
    const cells = Object.entries(phase.processes).map(([name, usage]) => processCell(name, usage));
    if (phase.others) cells.push(`others ${percent(phase.others.share)}`);
    const busy =
      phase.machine_busy_share === null ? '' : ` (machine ${percent(phase.machine_busy_share)} busy)`;
    const ceiling =
      phase.cpu_ceiling_per_s === null ? '' : `; CPU alone allows ~${rate(phase.cpu_ceiling_per_s)}/s`;
    lines.push(`  ${row.phase}: ${cells.join(' | ')}${busy}${ceiling}`);
    lines.push(`    bound by ${phase.bound_by}`);
    if (row.boundNote !== undefined) lines.push(`    ${row.boundNote}`);
  }
  return lines.join('\n');
}

function formatValue(target: TargetResult): string {
  if (target.value === null) return '?';
  if (target.unit === 'x') return `${target.value.toFixed(2)}x`;
  return `${target.value} ${target.unit}`;
}

function formatBound(target: TargetResult): string {
  const unit = target.unit === 'x' ? 'x' : ` ${target.unit}`;
  if (target.min !== undefined) return `needs >= ${target.min}${unit}`;
  if (target.max !== undefined) return `limit ${target.max}${unit}`;
  return '';
}

export function formatTargets(targets: readonly TargetResult[]): string {
  return targets
    .map(
      (target) =>
        `target: ${target.name}: ${formatValue(target)} (${formatBound(target)}) ${target.met ? 'met' : 'NOT MET'}`,
    )
    .join('\n');
}
