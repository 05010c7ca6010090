import type { TableRow, TargetResult } from './results.js';

const ratio = (value: number | null) => (value === null ? '-' : `${value.toFixed(2)}x`);
const rate = (value: number) => Math.round(value).toLocaleString('en-US');

/** The figures of one run as a plain-text table, one line per phase. */
export function formatTable(rows: readonly TableRow[]): string {
  const header = ['phase', 'per second', 'x naive', 'x noop', 'peak RSS'];
  const cells = rows.map((row) => [
    row.phase,
    `${rate(row.perSecond)} ${row.unit}`,
    ratio(row.ratioToNaive),
    ratio(row.ratioToNoop),
    row.peakRssMb === null ? '-' : `${row.peakRssMb} MB`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]?.length ?? 0)),
  );
  const format = (line: readonly string[]) =>
    line
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [format(header), rule, ...cells.map(format)].join('\n');
}

export function formatTargets(targets: readonly TargetResult[]): string {
  return targets
    .map(
      (target) =>
        `target: ${target.name}: ${target.ratio.toFixed(2)}x (needs ${target.min}x) ` +
        `${target.met ? 'met' : 'NOT MET'}`,
    )
    .join('\n');
}
