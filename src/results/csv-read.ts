/**
 * Reading back the CSV files this project writes (RFC 4180: quoted cells may hold commas, quotes
 * doubled, newlines), parsed with csv-parse (the reader of the csv project, beside csv-writer).
 * Cells that are plain numbers become numbers, empty cells null, the rest text. Unlike the
 * hand-written parser it replaced, a malformed file (an unclosed quote, a quote inside an
 * unquoted cell) is an error naming the line rather than silently merged cells. It is slower:
 * a 100,000-row, 7 MB metrics.csv took 2.8-3.0 s against 1.0-1.2 s (2 busy cores), which only
 * matters for plots over many very long runs.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { InputError } from "../errors.js";

export type CsvValue = string | number | null;
export type CsvRow = Record<string, CsvValue>;

/** Whether a cell holds a value: not blank, not NaN (a metric a run did not reach). */
export const isCellValue = (v: CsvValue | undefined): v is string | number => v !== null && v !== undefined && !(typeof v === "number" && Number.isNaN(v));

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

export function csvValue(cell: string): CsvValue {
  if (cell === "") return null;
  if (NUMBER.test(cell)) return Number(cell);
  if (cell === "inf" || cell === "Infinity") return Infinity;
  if (cell === "-inf" || cell === "-Infinity") return -Infinity;
  if (cell === "nan" || cell === "NaN") return NaN;
  return cell;
}

/**
 * A CSV file's header and rows, with the line each row ends on (for errors that name it). A
 * malformed file is an InputError naming it: results files are input to `plot`, `results` and a
 * resumed run, and a hand-edited or truncated one is the user's to fix (exit 2), not a bug.
 */
export function readCsv(path: string): { columns: string[]; rows: CsvRow[]; lines: number[] } {
  const text = readFileSync(path, "utf8");
  let table: { record: string[]; info: { lines: number } }[];
  try {
    table = parse(text, { relax_column_count: true, info: true }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    throw new InputError(`${path}: ${(err as Error).message}`, path);
  }
  const [head, ...body] = table;
  const header = head?.record ?? [];
  const rows = body.map(({ record: cells, info }) => {
    if (cells.length !== header.length) throw new InputError(`${path}: line ${info.lines} has ${cells.length} cells, the header has ${header.length}`, path);
    return Object.fromEntries(header.map((c, i) => [c, csvValue(cells[i])]));
  });
  return { columns: header, rows, lines: body.map(({ info }) => info.lines) };
}

/**
 * A numeric column's values, in row order: null for an empty cell (not logged at that row),
 * NaN and ±Infinity as written; text where a number belongs is an InputError naming the file,
 * line and column.
 */
export function numericColumn(path: string, csv: { rows: CsvRow[]; lines: number[] }, column: string): (number | null)[] {
  return csv.rows.map((row, i) => {
    const v = row[column] ?? null;
    if (v !== null && typeof v !== "number") throw new InputError(`${path}: line ${csv.lines[i]}, column '${column}': expected a number, found '${v}'`, path, column);
    return v;
  });
}

/** A CSV file's header alone, read from its first 64 KiB (the whole file need not be parsed). */
export function readCsvColumns(path: string): string[] {
  const fd = openSync(path, "r");
  let head: string;
  try {
    const buf = Buffer.alloc(1 << 16);
    head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8");
  } finally {
    closeSync(fd);
  }
  try {
    return (parse(head, { to_line: 1, relax_column_count: true, relax_quotes: true }) as string[][])[0] ?? [];
  } catch (err) {
    throw new InputError(`${path}: ${(err as Error).message}`, path);
  }
}
