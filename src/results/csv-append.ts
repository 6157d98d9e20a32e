/**
 * Row-by-row CSV appender for per-step metrics: the header is written once, each row is one
 * complete line appended with a single write, so an interrupted run leaves only whole rows.
 * (csv-writer's appending writer does the same per call but is asynchronous; metrics rows are
 * written from the training loop where a synchronous, ordered append is simpler.)
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic-write.js";
import { dirname } from "node:path";

export function csvCell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : v > 0 ? "inf" : v < 0 ? "-inf" : "nan";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export class CsvAppender {
  /**
   * The file's columns: those asked for; where the file exists already, its own header's, unless
   * that header is the first of those asked for (an older version's file), which is widened to them.
   */
  readonly columns: readonly string[];

  constructor(
    readonly path: string,
    columns: readonly string[],
  ) {
    mkdirSync(dirname(path), { recursive: true });
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    const header = text.split("\n", 1)[0]!;
    if (header === "") {
      writeFileSync(path, columns.join(",") + "\n");
      this.columns = columns;
      return;
    }
    const own = header.split(",");
    if (isStrictPrefix(own, columns)) {
      // A run resumed by a version that added columns at the end (eval.csv's top-5): the file is
      // rewritten whole in the new header, its rows padded with empty cells, so that this
      // attempt's rows keep the new columns.
      writeFileAtomic(path, widenedCsv(text, columns, columns.length - own.length));
      this.columns = columns;
    } else {
      // Columns that differ elsewhere (another order, fewer, a later version's file): rows are
      // appended in the header the file has, so it stays one table: a column the header lacks is
      // not logged, one the rows lack is left empty.
      this.columns = own;
    }
  }

  append(row: Record<string, string | number | boolean | null | undefined>): void {
    appendFileSync(this.path, this.columns.map((c) => csvCell(row[c])).join(",") + "\n");
  }
}

/** Whether `head` is `all`'s first columns, and fewer than all of them. */
function isStrictPrefix(head: readonly string[], all: readonly string[]): boolean {
  return head.length < all.length && head.every((c, i) => c === all[i]);
}

/**
 * The CSV text with `columns` as its header and `added` empty cells after each row's last. Rows are
 * lines: the cells written here are numbers and booleans, never text with a line break.
 */
function widenedCsv(text: string, columns: readonly string[], added: number): string {
  const rows = text.split("\n").slice(1).filter((l) => l.length > 0);
  const pad = ",".repeat(added);
  return [columns.join(","), ...rows.map((r) => r + pad)].map((l) => l + "\n").join("");
}

/**
 * Keeps the header and the rows whose first cell (a step number) is at most `lastStep`, written
 * atomically: a resumed run drops the rows logged after its checkpoint and logs them again.
 */
export function truncateCsvAfterStep(path: string, lastStep: number): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0);
  const kept = lines.slice(0, 1).concat(lines.slice(1).filter((l) => Number(l.split(",")[0]) <= lastStep));
  writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
}
