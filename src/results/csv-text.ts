/** Whole CSV files as text, through csv-writer's stringifier (quoting of commas, quotes, newlines). */
import { createObjectCsvStringifier } from "csv-writer";

export type CellValue = string | number | boolean | null | undefined | unknown[] | Record<string, unknown>;

/** A cell as text: plain numbers (inf/-inf/nan for non-finite), lists and mappings as JSON. */
export function cellText(v: CellValue): string | number | boolean | null | undefined {
  if (typeof v === "number" && !Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  if (typeof v === "object" && v !== null) return JSON.stringify(v);
  return v;
}

export function csvText(columns: readonly string[], rows: readonly Record<string, CellValue>[]): string {
  const stringifier = createObjectCsvStringifier({ header: columns.map((c) => ({ id: c, title: c })) });
  const records = rows.map((r) => Object.fromEntries(columns.map((c) => [c, cellText(r[c])])));
  // csv-writer's records of an empty list are "\n": a blank line 2 that readCsv rightly refuses.
  return stringifier.getHeaderString() + (records.length > 0 ? stringifier.stringifyRecords(records) : "");
}
