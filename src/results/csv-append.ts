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
  /** The file's columns: those asked for, or where the file exists already, its own header's. */
  readonly columns: readonly string[];

  constructor(
    readonly path: string,
    columns: readonly string[],
  ) {
    mkdirSync(dirname(path), { recursive: true });
    // A run resumed by a version that logs other columns (eval.csv's video-level accuracy, say)
    // appends rows in the header it finds, so the file stays one table: a column the header lacks
    // is not logged, one the rows lack is left empty.
    const header = existsSync(path) ? readFileSync(path, "utf8").split("\n", 1)[0]! : "";
    if (header === "") {
      writeFileSync(path, columns.join(",") + "\n");
      this.columns = columns;
    } else {
      this.columns = header.split(",");
    }
  }

  append(row: Record<string, string | number | boolean | null | undefined>): void {
    appendFileSync(this.path, this.columns.map((c) => csvCell(row[c])).join(",") + "\n");
  }
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
