/**
 * Walking a zod schema along a dotted key path, so that overrides and sweep keys can be checked
 * against the schema before any value is validated ("train.optimzer.lr": unknown key 'optimzer'
 * in train, did you mean 'optimizer'?), and so that error messages can list the valid keys.
 */
import { listed } from "../util/count.js";
import type { z } from "zod";
import { suggestionSuffix } from "./did-you-mean.js";

// zod 4 keeps a schema's structure in `_zod.def`; only the few fields read here are typed.
interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  discriminator?: string;
  valueType?: z.ZodType;
  element?: z.ZodType;
  items?: z.ZodType[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  in?: z.ZodType;
}

export function schemaDef(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

const WRAPPERS = new Set(["default", "optional", "nullable", "prefault", "readonly", "catch", "nonoptional"]);

/** The schema under defaults, optionals, nullables and refinement pipes. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const d = schemaDef(s);
    if (WRAPPERS.has(d.type) && d.innerType) s = d.innerType;
    else if (d.type === "pipe" && d.in) s = d.in;
    else return s;
  }
}

/** `keys`: the path as keys of nested mappings (a record's dotted key stays one key). */
export type KeyPathResult = { ok: true; schema: z.ZodType; keys: string[] } | { ok: false; message: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The schema at `segments` below `schema`. `raw` is the value the user wrote at this point (or
 * undefined); it picks the branch of a discriminated union (`train.optimizer` with kind adam).
 * A record (sweep.grid) takes all remaining segments as one dotted key.
 */
export function schemaAtPath(schema: z.ZodType, segments: readonly string[], raw: unknown, where: string[] = []): KeyPathResult {
  if (segments.length === 0) return { ok: true, schema, keys: where };
  const s = unwrapSchema(schema);
  const d = schemaDef(s);
  const [key, ...rest] = segments;
  const here = where.length === 0 ? "the top level" : where.join(".");
  switch (d.type) {
    case "object": {
      const keys = Object.keys(d.shape ?? {});
      if (!keys.includes(key))
        return { ok: false, message: `unknown key '${key}' in ${here}${suggestionSuffix(key, keys)}; valid keys: ${keys.join(", ")}` };
      return schemaAtPath(d.shape![key], rest, isRecord(raw) ? raw[key] : undefined, [...where, key]);
    }
    case "union": {
      const options = d.options ?? [];
      if (d.discriminator && isRecord(raw)) {
        const chosen = options.find((o) => discriminatorValues(o, d.discriminator!).includes(raw[d.discriminator!] as string));
        if (chosen) {
          const found = schemaAtPath(chosen, segments, raw, where);
          const elsewhere = found.ok ? "" : otherKindsWithKey(s, raw, key);
          if (elsewhere === "") return found;
          return { ok: false, message: `unknown key '${key}' in ${here}${elsewhere}; valid keys: ${objectKeys(chosen).join(", ")}` };
        }
      }
      const results = options.map((o) => schemaAtPath(o, segments, raw, where));
      const found = results.find((r) => r.ok);
      if (found) return found;
      const keys = [...new Set(options.flatMap((o) => objectKeys(o)))];
      if (keys.length === 0) return results[0];
      return { ok: false, message: `unknown key '${key}' in ${here}${suggestionSuffix(key, keys)}; valid keys: ${keys.join(", ")}` };
    }
    case "record":
      return schemaAtPath(d.valueType!, [], undefined, [...where, segments.join(".")]);
    case "array":
    case "tuple": {
      const index = Number(key);
      const items = d.type === "tuple" ? d.items ?? [] : null;
      // "00" would pass Number() yet name no item of a JavaScript array: only canonical indices.
      if (!/^(0|[1-9]\d*)$/.test(key) || (items !== null && index >= items.length))
        return { ok: false, message: `${here} is a list; expected an index${items ? ` below ${items.length}` : ""}, found '${key}'` };
      const element = items ? items[index] : d.element!;
      return schemaAtPath(element, rest, Array.isArray(raw) ? raw[index] : undefined, [...where, key]);
    }
    default:
      return { ok: false, message: `${here} is a single value (${d.type}); it has no key '${key}'` };
  }
}

/** The branch of a discriminated union that `value` selects (the schema itself otherwise). */
export function narrowUnion(schema: z.ZodType, value: unknown): z.ZodType {
  const d = schemaDef(unwrapSchema(schema));
  if (d.type !== "union" || !d.discriminator || !isRecord(value)) return schema;
  const chosen = (d.options ?? []).find((o) => discriminatorValues(o, d.discriminator!).includes(value[d.discriminator!] as string));
  return chosen ?? schema;
}

/**
 * Where `schema` is a discriminated union (data: by kind) and `value` picks one branch that lacks
 * `key` while other branches have it: " (a key of kind video-folder, not shapes)", so that a key
 * of another kind is told as such rather than as a typo; "" otherwise.
 */
export function otherKindsWithKey(schema: z.ZodType, value: unknown, key: string): string {
  const d = schemaDef(unwrapSchema(schema));
  if (d.type !== "union" || !d.discriminator || !isRecord(value)) return "";
  // A key the chosen kind has is no key of another kind: what failed lies below it
  // (data.augment.scales=... under moving-mnist is a typo inside augment, which every kind has).
  if (objectKeys(narrowUnion(schema, value)).includes(key)) return "";
  const kind = value[d.discriminator];
  const values = (d.options ?? [])
    .filter((o) => objectKeys(o).includes(key) && !discriminatorValues(o, d.discriminator!).includes(kind as string))
    .flatMap((o) => discriminatorValues(o, d.discriminator!).map(String));
  return values.length > 0 ? ` (a key of ${d.discriminator}${values.length > 1 ? "s" : ""} ${listed(values, "and")}, not ${String(kind)})` : "";
}

/** Keys of an object schema (after unwrapping), [] for anything else. */
export function objectKeys(schema: z.ZodType): string[] {
  const d = schemaDef(unwrapSchema(schema));
  if (d.type === "object") return Object.keys(d.shape ?? {});
  if (d.type === "union") return [...new Set((d.options ?? []).flatMap(objectKeys))];
  return [];
}

function discriminatorValues(option: z.ZodType, discriminator: string): unknown[] {
  const d = schemaDef(unwrapSchema(option));
  const field = d.shape?.[discriminator];
  if (!field) return [];
  const fd = schemaDef(unwrapSchema(field));
  return fd.values ?? (fd.entries ? Object.values(fd.entries) : []);
}

export type ValueKind = "string" | "number" | "boolean";

/** Whether a leaf schema accepts values of this kind (unknowns accept everything). */
export function schemaAccepts(schema: z.ZodType, kind: ValueKind): boolean {
  const d = schemaDef(unwrapSchema(schema));
  switch (d.type) {
    case "string":
      return kind === "string";
    case "number":
    case "int":
      return kind === "number";
    case "boolean":
      return kind === "boolean";
    case "enum":
      return Object.values(d.entries ?? {}).some((v) => typeof v === kind);
    case "literal":
      return (d.values ?? []).some((v) => typeof v === kind);
    case "union":
      return (d.options ?? []).some((o) => schemaAccepts(o, kind));
    case "unknown":
    case "any":
      return true;
    default:
      return false;
  }
}
