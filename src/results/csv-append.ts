/**
 * Row-by-row CSV appender for per-step metrics: the header is written once, each row is one
 * complete line appended with a single write, so an interrupted run leaves only whole rows.
 * (csv-writer's appending writer does the same per call but is asynchronous; metrics rows are
 * written from the training loop where a synchronous, ordered append is simpler.)
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic-write.js";
import { dirname } from "node:path";

export function csvCell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : v > 0 ? "inf" : v < 0 ? "-inf" : "nan";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export class CsvAppender {
  constructor(
    readonly path: string,
    readonly columns: readonly string[],
  ) {
    mkdirSync(dirname(path), { recursive: true });
    if (!existsSync(path)) appendFileSync(path, columns.join(",") + "\n");
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
