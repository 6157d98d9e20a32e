/**
 * Command-line overrides `key=value` (Hydra-style), applied to the parsed experiment file before
 * validation. The key must exist in the schema; the value is YAML (`0.1`, `bp`, `[0, 1, 2]`,
 * `{kind: adam}`, empty = null), and where the schema wants a string a number-looking value stays
 * text (`name=123` is the string "123"). `~key` removes a key the file sets (Hydra's syntax), so
 * that its default applies or an optional key is unset.
 *
 *   train.optimizer.lr=0.1        -> train: { optimizer: { lr: 0.1 } }
 *   sweep.seeds=[0,1,2]           -> sweep: { seeds: [0, 1, 2] }
 *   sweep.grid.train.method=[bp,sideways] -> sweep: { grid: { "train.method": [bp, sideways] } }
 */
import { parse as parseYamlValue } from "yaml";
import type { z } from "zod";
import { SpecError } from "../errors.js";
import { resolveUserPath } from "../util/user-path.js";
import { describeValue, formatIssues } from "./spec-issues.js";
import { schemaAccepts, schemaAtPath, schemaDef, unwrapSchema } from "./schema-path.js";

export interface Override {
  text: string;
  /** keys of nested mappings, e.g. ["train", "optimizer", "lr"] */
  keys: string[];
  value: unknown;
  /** `~key`: the key is removed from the file's mapping (its default applies), no value set. */
  remove?: boolean;
}

const KEY = "[A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z0-9_]+)*";
const OVERRIDE = new RegExp(`^(${KEY})=(.*)$`, "s");
const REMOVAL = new RegExp(`^~(${KEY})$`);

/** Whether a command-line argument is an override (`key=value` or `~key`), not a file such as `~/m.yaml`. */
export const isOverrideText = (text: string): boolean => OVERRIDE.test(text) || REMOVAL.test(text);


function syntaxError(text: string): SpecError {
  const eq = text.indexOf("=");
  const key = eq < 0 ? text : text.slice(0, eq);
  const bad = eq < 0 ? text.length : Math.max(0, key.search(/[^A-Za-z0-9_.]|\.\.|^\.|^[0-9]|\.$/));
  const caret = " ".repeat(bad) + "^";
  return new SpecError(
    [
      `override '${text}': ${eq < 0 ? "missing '='" : "invalid key"}`,
      `  ${text}`,
      `  ${caret}`,
      "expected key=value with a dotted key, e.g. train.optimizer.lr=0.1, train.method=bp, sweep.seeds=[0,1,2]; or ~key to remove a key the file sets",
    ].join("\n"),
  );
}

/** Parses one override against the schema; `raw` (the file so far) picks union branches. */
export function parseOverride(text: string, root: z.ZodType, raw: unknown): Override {
  const removal = REMOVAL.exec(text);
  if (removal) {
    const at = schemaAtPath(root, removal[1].split("."), raw);
    if (!at.ok) throw new SpecError(`override '${text}': ${at.message}`, undefined, removal[1]);
    return { text, keys: at.keys, value: undefined, remove: true };
  }
  const m = OVERRIDE.exec(text);
  if (!m) throw syntaxError(text);
  const [, key, valueText] = m;
  const at = schemaAtPath(root, key.split("."), raw);
  if (!at.ok) throw new SpecError(`override '${text}': ${at.message}`, undefined, key);
  let value: unknown;
  try {
    value = valueText.trim() === "" ? null : parseYamlValue(valueText, { uniqueKeys: true, maxAliasCount: 0 });
  } catch (err) {
    throw new SpecError(`override '${text}': the value is not valid YAML: ${(err as Error).message.split("\n")[0]}`, undefined, key);
  }
  const kind = typeof value;
  if ((kind === "number" || kind === "boolean") && !schemaAccepts(at.schema, kind) && schemaAccepts(at.schema, "string")) value = valueText;
  if (!isDiscriminator(root, at.keys, raw)) checkOverrideValue(text, at.keys, value, at.schema, root);
  return { text, keys: at.keys, value };
}

/**
 * `data.kind=...` picks the branch itself: the schema found for it is the current kind's literal,
 * so only the whole-file check can list every kind.
 */
function isDiscriminator(root: z.ZodType, keys: readonly string[], raw: unknown): boolean {
  const parent = schemaAtPath(root, keys.slice(0, -1), raw);
  if (!parent.ok) return false;
  const d = schemaDef(unwrapSchema(parent.schema)) as { type: string; discriminator?: string };
  return d.type === "union" && d.discriminator === keys[keys.length - 1];
}

/**
 * A value of the wrong kind (`model=[]`, `train.steps=[]`, `model=`) is reported against the
 * override, not the file, whose own value may be fine: "override 'model=[]': model: expected a
 * string or a mapping, found an empty list". Mappings are left to the whole-file check, since a
 * later override may complete one (`data={kind: npy} data.clips=c.npy`).
 */
function checkOverrideValue(text: string, keys: readonly string[], value: unknown, schema: z.ZodType, root: z.ZodType): void {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return;
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return;
  const issues = parsed.error.issues.map((issue) => ({ ...issue, path: [...keys, ...issue.path] }));
  const nested = keys.reduceRight<unknown>((inner, k) => ({ [k]: inner }), value);
  throw new SpecError(formatIssues(issues, nested, `override '${text}'`, root).join("\n"), undefined, keys.join("."));
}

/** Keys (dotted) whose string values are paths, and the folder such values given as overrides are relative to. */
export interface OverridePaths {
  keys: ReadonlySet<string>;
  relativeTo: string;
}

/**
 * A deep copy of `raw` with the overrides applied in order (later ones win). With `paths`, a path
 * given as the value of one of `paths.keys` (`model=m.yaml`, `data.clips=c.npy`) is made absolute
 * against `paths.relativeTo` (the current directory: where the user typed it), while the file's
 * own paths stay relative to the file. Paths inside a mapping or list value (`data={...}`,
 * `sweep.grid.model=[...]`) are the file's, relative to it. `parsed`, when given, receives each
 * override as parsed, in order.
 */
export function applyOverrides(raw: Record<string, unknown>, texts: readonly string[], root: z.ZodType, paths?: OverridePaths, oneValuePerKey = true, parsed?: Override[]): Record<string, unknown> {
  const out = cloneRaw(raw);
  const given = new Map<string, string>();
  const dropped = new Map<string, { by: string; kind: unknown }>();
  for (const text of texts) {
    // Parsed against the file as the overrides before it left it: a later kind change can make an
    // earlier override's key unknown (`~train.optimizer.momentum train.optimizer.kind=adam`).
    const o = parseDroppedAware(text, root, out, dropped);
    parsed?.push(o);
    const key = o.keys.join(".");
    // As Hydra does: a key given twice is a mistake (which value was meant?), not a silent last-wins.
    const earlier = given.get(key);
    if (oneValuePerKey && earlier !== undefined) throw new SpecError(`override '${text}': ${key} is already set by '${earlier}'; give each key once`, undefined, key);
    given.set(key, text);
    if (paths !== undefined && paths.keys.has(key) && typeof o.value === "string" && o.value !== "") o.value = resolveUserPath(paths.relativeTo, o.value);
    for (const d of setKeys(out, o, root)) dropped.set(d.key, { by: text, kind: d.kind });
  }
  return out;
}

/**
 * parseOverride, saying why where `~key` names a key that an earlier override's kind change
 * dropped with the old kind's defaults: `train.optimizer.kind=adam ~train.optimizer.momentum`
 * (the workaround before a changed kind took its own defaults).
 */
function parseDroppedAware(text: string, root: z.ZodType, raw: Record<string, unknown>, dropped: ReadonlyMap<string, { by: string; kind: unknown }>): Override {
  try {
    return parseOverride(text, root, raw);
  } catch (err) {
    const key = text.replace(/^~/, "").replace(/=[\s\S]*$/, "");
    const d = dropped.get(key);
    if (!(err instanceof SpecError) || d === undefined || !text.startsWith("~")) throw err;
    throw new SpecError(`override '${text}': ${key} was a default of kind ${String(d.kind)}, which '${d.by}' dropped with that kind, so there is nothing to remove; leave this override out`, undefined, key);
  }
}

/**
 * Keys of mappings that setKeys filled in from a schema default, not the file or an override:
 * `train.optimizer.lr=0.1` in a file without an optimizer section fills in the default SGD's
 * momentum and nesterov. When an override then changes such a mapping's kind, those keys belong
 * to the old kind and are dropped, so the new kind's own defaults apply: `train.optimizer.kind=adam`
 * is Adam with Adam's defaults, not Adam refused for SGD's momentum. A key set since is kept.
 */
const filledFromDefault = new WeakMap<object, Set<string>>();

function markFilled(value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return;
  filledFromDefault.set(value, new Set(Object.keys(value)));
  for (const v of Object.values(value)) markFilled(v);
}

/** structuredClone, keeping which keys were filled in from defaults (a sweep's runs start from the overridden file). */
export function cloneRaw<T>(raw: T): T {
  const copy = structuredClone(raw);
  const carry = (from: unknown, to: unknown) => {
    if (typeof from !== "object" || from === null || typeof to !== "object" || to === null) return;
    const filled = filledFromDefault.get(from);
    if (filled !== undefined) filledFromDefault.set(to, new Set(filled));
    for (const [k, v] of Object.entries(from)) carry(v, (to as Record<string, unknown>)[k]);
  };
  carry(raw, copy);
  return copy;
}

/**
 * Sets a value at o.keys, creating missing mappings on the way. A missing mapping starts as its
 * schema default when it has one, so `train.optimizer.lr=0.1` in a file without an optimizer
 * section keeps the default optimizer kind rather than failing for want of one.
 */
export function setKeys(target: Record<string, unknown>, o: Override, root: z.ZodType): { key: string; kind: unknown }[] {
  const dropped: { key: string; kind: unknown }[] = [];
  if (o.remove) {
    removeKey(target, o);
    return dropped;
  }
  let node: Record<string, unknown> = target;
  o.keys.forEach((k, i) => {
    if (Array.isArray(node)) checkListIndex(node, o, i);
    const filled = filledFromDefault.get(node);
    if (i === o.keys.length - 1) {
      if (filled !== undefined && node[k] !== o.value && isDiscriminator(root, o.keys, target)) {
        for (const key of filled) {
          if (key === k) continue;
          delete node[key];
          dropped.push({ key: [...o.keys.slice(0, -1), key].join("."), kind: node[k] });
        }
        filled.clear();
      }
      filled?.delete(k);
      node[k] = o.value;
      return;
    }
    filled?.delete(k);
    const next = node[k];
    const item = isListIndex(o.keys[i + 1]);
    if (next === undefined || next === null) node[k] = sectionDefault(root, o, i, target);
    else if (typeof next !== "object")
      throw new SpecError(`override '${o.text}': ${o.keys.slice(0, i + 1).join(".")} is ${describeValue(next)}, not a ${item ? "list" : "mapping"}, so it has no ${item ? "item" : "key"} '${o.keys[i + 1]}'`, undefined, o.keys.join("."));
    node = node[k] as Record<string, unknown>;
  });
  return dropped;
}

/** schemaAtPath lets a digit key through only into a list (a mapping's keys are names). */
const isListIndex = (key: string | undefined): boolean => key !== undefined && /^\d+$/.test(key);

/**
 * `sweep.seeds.5=7` on a list of two would leave items 2 to 4 empty, which the whole-file check
 * then reports as three missing numbers; an index up to the list's length (the next item) is fine.
 */
function checkListIndex(list: unknown[], o: Override, i: number): void {
  const index = Number(o.keys[i]);
  if (index <= list.length) return;
  const where = o.keys.slice(0, i).join(".");
  throw new SpecError(`override '${o.text}': ${where} has ${list.length} item${list.length === 1 ? "" : "s"}, so item ${index} would leave a gap; expected an index up to ${list.length} (${list.length} adds an item at the end)`, undefined, o.keys.join("."));
}

/** `~key`: deletes the key from its mapping; a key the file does not set is an error (as Hydra's), since removing it would change nothing. */
function removeKey(target: Record<string, unknown>, o: Override): void {
  let node: unknown = target;
  for (const k of o.keys.slice(0, -1)) node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[k] : undefined;
  const last = o.keys[o.keys.length - 1];
  if (Array.isArray(node)) {
    const list = o.keys.slice(0, -1).join(".");
    throw new SpecError(`override '${o.text}': ${o.keys.join(".")} is an item of the list ${list}, and a list's items are not removed one by one; expected the whole list instead: ${list}=[...]`, undefined, o.keys.join("."));
  }
  if (typeof node !== "object" || node === null || !(last in node)) {
    throw new SpecError(`override '${o.text}': ${o.keys.join(".")} is not set (by the file or an override before this one), so there is nothing to remove`, undefined, o.keys.join("."));
  }
  delete (node as Record<string, unknown>)[last];
}

/**
 * What a missing mapping or list at o.keys[0..i] starts as: its schema default, so that
 * `train.optimizer.betas.1=0.99` changes one of the default betas. A list without a default list
 * has no items to keep, so an item of it is refused in favour of the whole list.
 */
function sectionDefault(root: z.ZodType, o: Override, i: number, raw: unknown): Record<string, unknown> {
  const keys = o.keys.slice(0, i + 1);
  const at = schemaAtPath(root, keys, raw);
  const d = at.ok ? (schemaDef(at.schema) as { type: string; defaultValue?: unknown }) : undefined;
  const value = d?.type === "default" ? d.defaultValue : undefined;
  if (isListIndex(o.keys[i + 1])) {
    // (A list the current kind does not have: schemaAtPath's unknown-key message, not "not set".)
    if (!at.ok) throw new SpecError(`override '${o.text}': ${at.message}`, undefined, o.keys.join("."));
    if (Array.isArray(value)) return structuredClone(value) as unknown as Record<string, unknown>;
    const list = keys.join(".");
    throw new SpecError(`override '${o.text}': ${list} is not set (by the file or an override before this one), so it has no item ${o.keys[i + 1]} to change; expected the whole list instead: ${list}=[...]`, undefined, o.keys.join("."));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const filled = structuredClone(value as Record<string, unknown>);
  markFilled(filled);
  return filled;
}
