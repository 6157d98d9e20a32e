/**
 * zod issues -> one readable line each: the file, the key path, what was expected, what was found,
 * and for a misspelt key or option a "did you mean" suggestion.
 *   exp.yaml: train.optimizer.lr: expected a number > 0, found -1
 *   exp.yaml: train: unknown key 'optimzer' (did you mean 'optimizer'?); valid keys: method, ...
 */
import type { z } from "zod";
import { suggestionSuffix } from "./did-you-mean.js";
import { settingSource } from "./override-source.js";
import { objectKeys, narrowUnion, otherKindsWithKey, schemaAtPath, schemaDef, unwrapSchema } from "./schema-path.js";
import { count, listed } from "../util/count.js";

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/**
 * One line per issue, `FILE: key.path: what was expected, what was found`. `overrides` (`key=value`
 * texts applied over the file) are named on the lines about their keys, above or below them
 * (`data.kind=shapes` makes `data: unknown key 'task'`, `data.kind=npy` `data.clips: ... missing`), so the file is not blamed for them.
 */
export function formatIssues(issues: readonly Issue[], raw: unknown, file: string, root: z.ZodType, overrides: readonly string[] = []): string[] {
  return tightestBounds(issues)
    .flatMap((issue) => describeIssue(issue, [], raw, root))
    .map(({ path, text }) => `${settingSource(file, overrides, keyPath(path))}: ${keyPath(path)}: ${text}`);
}

/**
 * One bound per key and side: zod's .int() adds its own safe-integer bound, so a huge value
 * broke both "<= 9007199254740991" and the key's "<= 2147483647", said as two contradictory lines.
 */
function tightestBounds(issues: readonly Issue[]): Issue[] {
  const bound = (i: Issue) => Number((i as { minimum?: number | bigint; maximum?: number | bigint }).minimum ?? (i as { maximum?: number | bigint }).maximum);
  const side = (i: Issue) => (i.code === "too_small" || i.code === "too_big") && (i.origin === "number" || i.origin === "int") ? `${i.code} ${keyPath(i.path)}` : null;
  return issues.filter((i) => {
    const s = side(i);
    if (s === null) return true;
    const rivals = issues.filter((j) => j !== i && side(j) === s);
    // Keep the tightest bound: the largest minimum, the smallest maximum (the first of equals).
    return rivals.every((j) => (i.code === "too_big" ? bound(i) < bound(j) : bound(i) > bound(j)) || (bound(i) === bound(j) && issues.indexOf(i) < issues.indexOf(j)));
  });
}

export function keyPath(path: Path): string {
  return path.length === 0 ? "(top level)" : path.map(String).join(".");
}

/** A value as the user would have written it in YAML. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing (the key is missing)";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isNaN(v) ? ".nan" : v === Infinity ? ".inf" : v === -Infinity ? "-.inf" : String(v);
  if (typeof v === "string") return `'${v}'`;
  if (Array.isArray(v)) {
    if (v.length === 0) return "an empty list";
    // A short list of plain values is shown as written, so that "found [2, 1]" says what is wrong.
    const plain = v.length <= 8 && v.every((x) => x === null || ["number", "string", "boolean"].includes(typeof x));
    return plain ? `[${v.map(describeValue).join(", ")}] (${items(v.length)})` : `a list of ${items(v.length)}`;
  }
  if (typeof v === "object") return "a mapping";
  return String(v);
}

/**
 * A missing key, and the likeliest reason when the mapping has it glued to its value: YAML reads
 * `{kind:adam}` (no space after the colon) as one key, "kind:adam", with no value.
 */
function missingKey(raw: unknown, path: Path): string {
  const key = path.at(-1);
  const parent = valueAt(raw, path.slice(0, -1));
  if (typeof key !== "string" || typeof parent !== "object" || parent === null || Array.isArray(parent)) return describeValue(undefined);
  const glued = Object.keys(parent).find((k) => k.startsWith(`${key}:`));
  if (glued === undefined) return describeValue(undefined);
  return `nothing (the key is missing; there is a key '${glued}': YAML needs a space after the colon, '${key}: ${glued.slice(key.length + 1)}')`;
}

function valueAt(raw: unknown, path: Path): unknown {
  let v = raw;
  for (const k of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

const TYPE_NAMES: Record<string, string> = {
  object: "a mapping",
  record: "a mapping",
  array: "a list",
  number: "a number",
  int: "an integer",
  string: "a string",
  boolean: "true or false",
  null: "null",
};

const typeName = (t: string) => TYPE_NAMES[t] ?? t;
const items = (n: number | bigint) => count(n, "item");

/**
 * What the fixed-length list (a zod tuple) at `path` must be, if the schema has one there:
 * "a list of exactly 2 items", led by the schema's description when it has one ("[min, max]: ...").
 */
function tupleExpected(root: z.ZodType, path: Path, raw: unknown): string | undefined {
  const at = schemaAtPath(root, path.map(String), raw);
  if (!at.ok) return undefined;
  const tuple = unwrapSchema(at.schema);
  const d = schemaDef(tuple);
  if (d.type !== "tuple") return undefined;
  const list = `a list of exactly ${items((d.items ?? []).length)}`;
  return tuple.description ? `${tuple.description}, ${list}` : list;
}

/** The description of the schema at `path`, unless it is a tuple's (see tupleExpected); undefined where none. */
function describedExpectation(root: z.ZodType, path: Path, raw: unknown): string | undefined {
  const at = schemaAtPath(root, path.map(String), raw);
  if (!at.ok) return undefined;
  const schema = unwrapSchema(at.schema);
  return schemaDef(schema).type === "tuple" ? undefined : schema.description;
}

/**
 * `optimizer: adam` where `optimizer: {kind: adam}` was meant: the hint, when the mapping at `path`
 * is picked by a key (a discriminated union: train.optimizer, train.schedule, data) and `value`
 * names one of its kinds; "" otherwise.
 */
function kindHint(root: z.ZodType, path: Path, raw: unknown, value: unknown): string {
  if (typeof value !== "string") return "";
  const at = schemaAtPath(root, path.map(String), raw);
  if (!at.ok) return "";
  const d = schemaDef(unwrapSchema(at.schema)) as { type: string; discriminator?: string; options?: z.ZodType[] };
  if (d.type !== "union" || d.discriminator === undefined) return "";
  const key = d.discriminator;
  const kinds = (d.options ?? []).flatMap((o) => (schemaDef((o as z.ZodObject).shape[key] as z.ZodType) as { values?: unknown[] }).values ?? []);
  return kinds.includes(value) ? ` (write {${key}: ${value}}, with its settings beside ${key})` : "";
}

/** The named values a union at `path` also takes (`clip` of `clip | integer >= 1`); [] where there is no union. */
function namedAlternatives(root: z.ZodType, path: Path, raw: unknown): string[] {
  const at = schemaAtPath(root, path.map(String), raw);
  if (!at.ok) return [];
  const d = schemaDef(unwrapSchema(at.schema)) as { type: string; options?: z.ZodType[] };
  if (d.type !== "union") return [];
  return (d.options ?? []).flatMap((o) => {
    const od = schemaDef(unwrapSchema(o)) as { type: string; values?: unknown[]; entries?: Record<string, unknown> };
    if (od.type === "literal") return [optionList(od.values ?? [])];
    if (od.type === "enum") return [optionList(Object.values(od.entries ?? {}))];
    return [];
  });
}

/**
 * "an integer from 1 to 64", "an integer >= 1" or "an integer" for an integer key at `path` (also
 * the integer branch of a union such as `clip | integer >= 1`), from the schema's own bounds, so
 * that 0, 65 and 1.5 are told the same expectation; undefined for a key that is no integer.
 * Bounds beyond the safe-integer range are zod's own (.int()), not the key's, and are left out.
 */
function integerExpectation(root: z.ZodType, path: Path, raw: unknown): string | undefined {
  const at = schemaAtPath(root, path.map(String), raw);
  if (!at.ok) return undefined;
  const schema = unwrapSchema(at.schema);
  const d = schemaDef(schema) as { type: string; options?: z.ZodType[] };
  const branches = d.type === "union" ? (d.options ?? []).map(unwrapSchema) : [schema];
  const int = branches.find((b) => schemaDef(b).type === "number" && (b as unknown as { isInt?: boolean }).isInt === true);
  if (int === undefined) return undefined;
  type Bound = { check: string; value: number; inclusive: boolean };
  const checks = ((schemaDef(int) as { checks?: { _zod: { def: Bound } }[] }).checks ?? []).map((c) => c._zod.def);
  let lo = -Number.MAX_SAFE_INTEGER;
  let hi = Number.MAX_SAFE_INTEGER;
  for (const c of checks) {
    if (c.check === "greater_than") lo = Math.max(lo, c.inclusive ? Math.ceil(c.value) : Math.floor(c.value) + 1);
    if (c.check === "less_than") hi = Math.min(hi, c.inclusive ? Math.floor(c.value) : Math.ceil(c.value) - 1);
  }
  const hasLo = lo > -Number.MAX_SAFE_INTEGER;
  const hasHi = hi < Number.MAX_SAFE_INTEGER;
  if (hasLo && hasHi) return `an integer from ${lo} to ${hi}`;
  if (hasLo) return `an integer >= ${lo}`;
  if (hasHi) return `an integer <= ${hi}`;
  return "an integer";
}

/** "true, false or auto" for ["true or false", "auto"]: each alternative once, the last after "or". */
function alternatives(expected: readonly string[]): string {
  const each = [...new Set(expected.flatMap((e) => e.split(" or ")))];
  return listed(each, "or");
}

const optionList = (values: readonly unknown[]) => values.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(" | ");

function describeIssue(issue: Issue, prefix: Path, raw: unknown, root: z.ZodType): { path: Path; text: string }[] {
  const path = [...prefix, ...issue.path];
  const value = valueAt(raw, path);
  const found = `found ${value === undefined ? missingKey(raw, path) : describeValue(value)}`;
  const one = (text: string) => [{ path, text }];
  // A key whose schema has a description (runtime.device_id) is told that, whatever check failed,
  // so that -1, 1.5 and 'abc' get the same expectation. Not its custom checks (their own reason),
  // nor a tuple's description, which tupleExpected puts beside the list's length.
  // (A union's is told below, where no branch fits the value's type: [0, 1.5] is told about its item.)
  if (["invalid_type", "too_small", "too_big", "not_multiple_of"].includes(issue.code)) {
    const expected = describedExpectation(root, path, raw);
    if (expected !== undefined) return one(`expected ${expected}, ${found}`);
  }
  switch (issue.code) {
    case "invalid_type": {
      if (typeof value === "number" && !Number.isFinite(value)) return one(`expected a finite number, ${found}`);
      // An integer key given a string or a list says its range, as for 0 or 1.5 ("a number" was all 'abc' got).
      const integer = issue.expected === "int" || issue.expected === "number" ? integerExpectation(root, path, raw) : undefined;
      if (integer !== undefined || issue.expected === "int") return one(`expected ${integer ?? "an integer"}, ${found}`);
      if (issue.expected === "tuple") return one(`expected ${tupleExpected(root, path, raw) ?? "a list"}, ${found}`);
      return one(`expected ${typeName(issue.expected)}, ${found}${kindHint(root, path, raw, value)}`);
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const bound = small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum;
      const op = small ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
      if (issue.origin === "array") {
        // A tuple reports its length as a minimum or maximum; it needs exactly that many items.
        const tuple = tupleExpected(root, path, raw);
        return one(`expected ${tuple ?? `a list of ${small ? "at least" : "at most"} ${items(bound)}`}, ${found}`);
      }
      if (issue.origin === "string") return one(`expected a string of ${small ? "at least" : "at most"} ${bound} characters, ${found}`);
      // `update_every: 0` is a number too small, but `clip` is as valid (zod reports the branch the value's type fits alone).
      const or = namedAlternatives(root, path, raw).map((a) => `${a} or `).join("");
      return one(`expected ${or}${integerExpectation(root, path, raw) ?? `a number ${op} ${bound}`}, ${found}`);
    }
    case "invalid_value": {
      const hint = typeof value === "string" ? suggestionSuffix(value, issue.values.map(String)) : "";
      return one(`expected ${issue.values.length === 1 ? "" : "one of "}${optionList(issue.values)}, ${found}${hint}`);
    }
    case "unrecognized_keys": {
      const at = schemaAtPath(root, path.map(String), raw);
      // For `data:` with kind moving-mnist, list moving-mnist's keys, not every kind's.
      const valid = at.ok ? objectKeys(narrowUnion(at.schema, value)) : [];
      return issue.keys.map((k) => ({
        path,
        // A key of another kind (`root` under kind shapes) is no typo: say which kinds have it.
        text: `unknown key '${k}'${(at.ok ? otherKindsWithKey(at.schema, value, k) : "") || suggestionSuffix(k, valid)}${valid.length ? `; valid keys: ${valid.join(", ")}` : ""}`,
      }));
    }
    case "invalid_union": {
      if ("discriminator" in issue && issue.discriminator) {
        const options = (issue as { options?: unknown[] }).options ?? [];
        const hint = typeof value === "string" ? suggestionSuffix(value, options.map(String)) : "";
        return one(`expected ${optionList(options)}, ${found}${hint}`);
      }
      // A union such as `model: path | mapping`: report the branch that fits the value's type, if any.
      const fitting = issue.errors.find((branch) => !branch.some((e) => e.path.length === 0 && (e.code === "invalid_type" || e.code === "invalid_value")));
      if (fitting) return fitting.flatMap((e) => describeIssue(e, path, raw, root));
      const described = describedExpectation(root, path, raw);
      if (described !== undefined) return one(`expected ${described}, ${found}`);
      const options = issue.errors.flatMap((b) => b.flatMap((e) => (e.path.length === 0 && e.code === "invalid_value" ? e.values.map(String) : [])));
      const hint = typeof value === "string" ? suggestionSuffix(value, options) : "";
      // A value no branch takes (`update_every: 2.5` or `workers: many`) of a key that is an integer
      // or a name: as when it is out of range, "clip or an integer >= 1". A number is told the
      // integer's range also where another branch is a list (sweep.seeds).
      const integer = integerExpectation(root, path, raw);
      const named = namedAlternatives(root, path, raw);
      if (integer !== undefined && (typeof value === "number" || named.length + 1 === issue.errors.length)) {
        return one(`expected ${named.map((a) => `${a} or `).join("")}${integer}, ${found}${hint}`);
      }
      // Each branch is named by what it expects. Only its type and value issues say that: zod
      // also runs a branch's other checks on a value of the wrong type (z.string().min(1) on []
      // adds "Too small: expected array to have >=1 items"), which named no branch.
      const expects = (branch: readonly Issue[]) =>
        branch.flatMap((e) => (e.path.length > 0 ? [] : e.code === "invalid_type" ? [e.expected === "number" ? (integer ?? "a number") : typeName(e.expected)] : e.code === "invalid_value" ? [optionList(e.values)] : []));
      return one(`expected ${alternatives(issue.errors.flatMap(expects))}, ${found}${hint}`);
    }
    case "invalid_format":
      return one(`expected ${issue.message}, ${found}`);
    default:
      return one(`${issue.message}, ${found}`);
  }
}
