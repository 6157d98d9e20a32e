/**
 * An npy data set's class names (data.class_names): given inline as a list, or as a text file of
 * one name a line, line k naming label k (the classes.txt `sideways data` writes, so its output
 * reads back). Checked against the model's classes when the data is opened, so `validate` finds a
 * list that is one name short before a run labels its results with the wrong names.
 */
import { existsSync, readFileSync } from "node:fs";
import { DataError, DataSettingError } from "../errors.js";

const KEY = "data.class_names";

/** `given` (data.class_names) as a list of `classes` names; a file path is resolved with `resolvePath`. Bad names are exit-2 DataErrors naming the file or key. */
export function readClassNames(given: string | readonly string[], classes: number, resolvePath: (p: string) => string): string[] {
  if (typeof given !== "string") {
    // Inline names: no file of their own, so the experiment file is named before the key (errors.ts).
    checkNames(given, (i) => `${KEY}[${i}]`, classes, undefined, KEY);
    return [...given];
  }
  const file = resolvePath(given);
  if (!existsSync(file)) throw new DataError(`${KEY}: file not found: '${given}' (looked for ${file}; expected a text file of one class name a line)`, undefined, KEY);
  const names = linesOf(readFileSync(file, "utf8"));
  checkNames(names, (i) => `line ${i + 1}`, classes, file, `${file} (${KEY})`);
  return names;
}

/** A text file's lines without their line ends (\n or \r\n), a last line break ending no empty name. */
function linesOf(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * One name per class, none empty (or only spaces), none repeated, none spanning lines (classes.txt
 * could not hold it). `where(i)` says where name i was written; `prefix` opens every message.
 */
function checkNames(names: readonly string[], where: (i: number) => string, classes: number, file: string | undefined, prefix: string): void {
  if (names.length !== classes) {
    const message = `${prefix}: ${names.length} class ${names.length === 1 ? "name" : "names"}, expected ${classes} (the model has ${classes} classes; label k's name is the (k+1)-th)`;
    // A file that is fine in itself but does not fit the model: the experiment that points at it is named too.
    throw file === undefined ? new DataError(message, undefined, KEY) : new DataSettingError(message, file, KEY);
  }
  const seen = new Map<string, number>();
  for (const [i, name] of names.entries()) {
    if (name.trim() === "") throw new DataError(`${prefix}: ${where(i)} (label ${i}) is an empty name, expected a name for every class`, file, KEY);
    if (/[\r\n]/.test(name)) throw new DataError(`${prefix}: ${where(i)} (label ${i}) spans lines, expected a name on one line`, file, KEY);
    const first = seen.get(name);
    if (first !== undefined) {
      throw new DataError(`${prefix}: ${where(i)} (label ${i}) repeats "${name}", the name of ${where(first)} (label ${first}); expected a different name for every class`, file, KEY);
    }
    seen.set(name, i);
  }
}
