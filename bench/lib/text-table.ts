// The end-of-run table every bench prints: rows of cells in columns as wide as their widest cell.

export interface TextTableOptions {
  /** A line printed above the table (after the blank line that parts it from the run's log). */
  title?: string;
  /** 'left' (default) for labelled rows; 'right' for columns of numbers. */
  align?: 'left' | 'right';
}

/** Prints `rows` to stdout, columns parted by two spaces, each line without trailing blanks. */
export function printTextTable(rows: string[][], { title, align = 'left' }: TextTableOptions = {}): void {
  const columns = Math.max(0, ...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  console.log(title === undefined ? '' : `\n${title}`);
  for (const row of rows) {
    const cells = row.map((cell, column) => (align === 'right' ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)));
    console.log(cells.join('  ').trimEnd());
  }
}
