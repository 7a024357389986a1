/** Markdown tables and the number formats the bench prints. */

/** A Markdown table; numbers and figures already formatted as strings, first column left-aligned. */
export function table(headers, rows) {
  const cells = [headers, ...rows].map((row) => row.map((cell) => String(cell ?? '')));
  const widths = headers.map((_, column) => Math.max(3, ...cells.map((row) => row[column].length)));
  const line = (row) => `| ${row.map((cell, column) => (column ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (column ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

export const integer = (n) => Math.round(n).toLocaleString('en-US');
export const fixed = (n, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const bytes = (n) => `${integer(n)} B`;
export const mebibytes = (n) => `${fixed(n / 1024 / 1024, 1)} MiB`;
/** `median (min–max)` of a summary from stats.mjs. */
export const spread = ({ median, min, max }, format = fixed) => `${format(median)} (${format(min)}–${format(max)})`;
export const check = (met) => (met ? 'met' : '**missed**');
