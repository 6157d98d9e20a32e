/**
 * Reading back the CSV files this project writes (RFC 4180: quoted cells may hold commas, quotes
 * doubled, newlines). Cells that are plain numbers become numbers, empty cells null, the rest text.
 */
import { readFileSync } from "node:fs";

export type CsvValue = string | number | null;
export type CsvRow = Record<string, CsvValue>;

export function parseCsvText(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(cell), (cell = "");
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell), rows.push(row), (row = []), (cell = "");
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) row.push(cell), rows.push(row);
  return rows;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

export function csvValue(cell: string): CsvValue {
  if (cell === "") return null;
  if (NUMBER.test(cell)) return Number(cell);
  if (cell === "inf" || cell === "Infinity") return Infinity;
  if (cell === "-inf" || cell === "-Infinity") return -Infinity;
  if (cell === "nan" || cell === "NaN") return NaN;
  return cell;
}

export function readCsv(path: string): { columns: string[]; rows: CsvRow[] } {
  const [header = [], ...body] = parseCsvText(readFileSync(path, "utf8"));
  const rows = body.map((cells) => {
    if (cells.length !== header.length) throw new Error(`${path}: a row has ${cells.length} cells, the header has ${header.length}`);
    return Object.fromEntries(header.map((c, i) => [c, csvValue(cells[i])]));
  });
  return { columns: header, rows };
}
