/**
 * SIDEWAYS_GRAPH_FORMS: the graph formulations a GPU provider's graphs are built with, over its
 * default target (src/graph/graph-builder.ts GraphTarget), for A/B measurements on a GPU machine
 * (docs/PERFORMANCE.md round 8). A comma-separated list of key=value, e.g.
 *   SIDEWAYS_GRAPH_FORMS=convInputGrad=subpixel,unfoldForwardChannels=1
 * Every form is exact arithmetic of the same gradient (the layer table checks each against the
 * float64 reference), so a form changes speed and float32 rounding only. The CPU provider's
 * graphs ignore it: the CPU target keeps the forms measured there.
 */
import { z } from "zod";
import { ProviderError } from "../errors.js";
import type { GraphForms } from "../graph/graph-builder.js";

/** Each form's values, as GraphTarget documents them. */
const FORMS_SCHEMA = z
  .object({
    maxPoolVjp: z.enum(["indices", "windows"]),
    convWeightGrad: z.enum(["unfold", "columns", "conv", "gemm"]),
    channelSums: z.enum(["direct", "staged"]),
    reluMask: z.enum(["cast", "sign"]),
    convInputGrad: z.enum(["transpose", "subpixel", "phases"]),
    // Digits only: Number("") is 0 and Number("0x10") is 16, neither a channel count anyone wrote.
    unfoldForwardChannels: z.string().regex(/^\d+$/).transform(Number),
    convRelu: z.enum(["separate", "fused"]),
    paramSplit: z.enum(["split", "slices"]),
    sidewaysClip: z.enum(["shared", "split"]),
    spaceToDepth: z.enum(["op", "transpose"]),
    logSoftmax: z.enum(["op", "reductions"]),
  })
  .partial()
  .strict();

const KEYS = Object.keys(FORMS_SCHEMA.shape);

/** The forms `text` sets (SIDEWAYS_GRAPH_FORMS's syntax); a bad key or value is a ProviderError naming it. */
export function parseGraphForms(text: string, source = "SIDEWAYS_GRAPH_FORMS"): GraphForms {
  const entries: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const item of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new ProviderError(`${source}: "${item}" is not key=value (keys: ${KEYS.join(", ")})`);
    const key = item.slice(0, eq).trim();
    if (Object.hasOwn(entries, key)) throw new ProviderError(`${source}: ${key} is given twice`);
    entries[key] = item.slice(eq + 1).trim();
  }
  const parsed = FORMS_SCHEMA.safeParse(entries);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.length > 0 ? String(issue.path[0]) : ((issue as { keys?: string[] }).keys ?? []).join(", ");
    const expected = KEYS.includes(key) ? describeValues(key) : `one of the keys ${KEYS.join(", ")}`;
    throw new ProviderError(`${source}: ${key}${Object.hasOwn(entries, key) ? `=${entries[key]}` : ""}: expected ${expected}`);
  }
  return parsed.data;
}

function describeValues(key: string): string {
  const field = FORMS_SCHEMA.shape[key as keyof typeof FORMS_SCHEMA.shape];
  const inner = field instanceof z.ZodOptional ? field.unwrap() : field;
  return inner instanceof z.ZodEnum ? (inner.options as string[]).join(" or ") : "a whole number >= 0 (digits)";
}

/** The forms the environment asks for (SIDEWAYS_GRAPH_FORMS), or none. */
export function graphFormsFromEnv(env: NodeJS.ProcessEnv = process.env): GraphForms {
  const text = env.SIDEWAYS_GRAPH_FORMS;
  return text === undefined ? {} : parseGraphForms(text);
}

/** A target as key=value pairs, e.g. "nchwcBlock=0, cpu=false, channelSums=staged" (for reports). */
export function formatGraphTarget(target: object): string {
  return Object.entries(target)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(", ");
}
