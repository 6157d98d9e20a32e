/**
 * Whole-number command-line options, read from the text as typed. yargs' own number type turns
 * "abc" into NaN before any check sees it, so an error could only say "found NaN"; and a check
 * left to each handler was missing from some (bench --batch 0 reached onnxruntime).
 */
import { InputError } from "../errors.js";

/** A yargs `coerce` for `flag`: an integer in [min, max], else an InputError naming the flag and the text given. */
export function wholeNumber(flag: string, min: number, max?: number): (raw: unknown) => number {
  return (raw) => {
    // yargs passes `true` for an option given no value (`--workers` last on the line).
    if (raw === true) throw new InputError(`${flag}: expected ${expectation(min, max)}, found nothing`);
    const text = String(raw).trim();
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (Number.isSafeInteger(n) && n >= min && (max === undefined || n <= max)) return n;
    throw new InputError(`${flag}: expected ${expectation(min, max)}, found '${text}'`);
  };
}

const expectation = (min: number, max?: number) => (max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`);
