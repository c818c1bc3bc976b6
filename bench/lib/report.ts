/** A benchmark's table for people: rows of label / ours / baseline / ratio / unit. */
export interface Row {
  name: string;
  ours: number | string;
  baseline?: number | string;
  ratio?: number | string;
  unit: string;
  note?: string;
}

function fmt(value: number | string | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return String(Math.round(value * 100) / 100);
}

export function renderTable(title: string, rows: readonly Row[], baselineLabel = 'baseline'): string {
  const header = ['metric', 'kubethreads', baselineLabel, 'ratio', 'unit', 'note'];
  const cells = rows.map((r) => [r.name, fmt(r.ours), fmt(r.baseline), fmt(r.ratio), r.unit, r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 || i >= 4 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
