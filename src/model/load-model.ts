/**
 * Model files (models/*.yaml, docs/design/conventions.md) to a resolved Model: schema
 * validation, then shape inference layer by layer, then parameters and blocks. Every error is
 * a ModelError naming the file, the layer by its key path in the file and its type
 * ("layers.3 (conv2d)", "layers.3.layers.1 (group_norm)" inside a residual unit), and the
 * shapes involved.
 */
import { readFileSync } from "node:fs";
import YAML from "yaml";
import type { z } from "zod";
import { ModelError } from "../errors.js";
import { LayerShapeError, shapeText, startsBlock } from "../layers/layer-def.js";
import { LAYER_TYPES, isLayerType, layerDef } from "../layers/registry.js";
import { blockIndexOfLayers, groupBlocks } from "./blocks.js";
import type { BufferInfo, Model, ParamInfo, ResolvedLayer } from "./model.js";
import { ModelSpec } from "./model-spec.js";
import { formatIssues } from "../spec/spec-issues.js";
import { suggestionSuffix } from "../spec/did-you-mean.js";

/** YAML aliases allowed per file: plenty for a model, too few for an alias bomb. */
const MAX_ALIAS_COUNT = 100;

export function loadModelFile(path: string): Model {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    // Worded as an experiment file's (src/spec/yaml-file.ts), not as Node's "ENOENT: no such file ...".
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(code === "EISDIR" ? `model file ${path} is not a file` : `model file ${path} does not exist or cannot be read (${code ?? err})`, path);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text, { uniqueKeys: true, maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new ModelError(`${path}: not valid YAML: ${err instanceof Error ? err.message : err}`, path);
  }
  if (doc === null || doc === undefined) {
    throw new ModelError(`${path}: the file is empty (or only comments); a model file has name:, input:, classes: and layers: (see models/small-cnn.yaml)`, path);
  }
  checkNotExperiment(doc, path);
  return resolveModel(doc, path);
}

/** Validates a parsed model spec and infers its shapes; `source` names it in errors. */
export function resolveModel(spec: unknown, source: string): Model {
  checkLayerTypes(spec, source);
  const parsed = ModelSpec.safeParse(spec);
  if (!parsed.success) throw schemaError(parsed.error, spec, source);
  const { name, input, classes, layers: specs } = parsed.data;

  const shapes: { inShape: number[]; outShape: number[] }[] = [];
  let shape = [input.channels, input.height, input.width];
  specs.forEach((layerSpec, i) => {
    try {
      const outShape = layerDef(layerSpec).outShape(layerSpec, shape);
      shapes.push({ inShape: shape, outShape });
      shape = outShape;
    } catch (err) {
      if (!(err instanceof LayerShapeError)) throw err;
      const at = err.layer === undefined ? `layers.${i} (${layerSpec.type})` : `layers.${i}.${err.layer}`;
      throw new ModelError(`${source}: ${at}: ${err.message}`, source, `layers.${i}`);
    }
  });

  const last = specs.length - 1;
  if (shape.length !== 1 || shape[0] !== classes) {
    throw new ModelError(
      `${source}: layers.${last} (${specs[last].type}) outputs ${shapeText(shape)}, but the model must output [classes] = [${classes}]` +
        (shape.length !== 1 ? " (end with global_avg_pool, or flatten and linear)" : ""),
      source,
      `layers.${last}`,
    );
  }

  const starters = specs.map((s) => startsBlock(layerDef(s)));
  if (!starters.includes(true)) {
    throw new ModelError(`${source}: the model has no layer with parameters that starts a block (conv2d, linear or residual): nothing to train`, source, "layers");
  }
  const blockOfLayer = blockIndexOfLayers(starters);
  const layers: ResolvedLayer[] = specs.map((layerSpec, i) => {
    const { inShape, outShape } = shapes[i];
    const params: ParamInfo[] = layerDef(layerSpec)
      .params(layerSpec, inShape)
      .map((p) => ({ name: `${i}.${p.suffix}`, shape: p.shape, layerIndex: i, blockIndex: blockOfLayer[i], fanIn: p.fanIn, ...(p.init !== undefined ? { init: p.init } : {}) }));
    const def = layerDef(layerSpec);
    const buffers: BufferInfo[] = (def.buffers?.(layerSpec, inShape) ?? []).map((b) => ({ name: `${i}.${b.suffix}`, shape: b.shape, layerIndex: i, blockIndex: blockOfLayer[i], init: b.init, dtype: b.dtype }));
    return { index: i, spec: layerSpec, inShape, outShape, params, buffers };
  });
  const blocks = groupBlocks(layers, blockOfLayer);
  return { name, input, classes, layers, blocks, params: layers.flatMap((l) => l.params), buffers: layers.flatMap((l) => l.buffers), source };
}

/** An unknown layer type gets its own message with the valid ones (zod's would be vaguer). */
function checkLayerTypes(spec: unknown, source: string): void {
  if (typeof spec !== "object" || spec === null || !("layers" in spec) || !Array.isArray(spec.layers)) return;
  spec.layers.forEach((layer: unknown, i: number) => {
    if (typeof layer !== "object" || layer === null) return;
    const type = (layer as { type?: unknown }).type;
    if (!isLayerType(type)) {
      // The same suggestion zod's message gives a residual unit's inner layers (relux -> relu, BatchNorm2d -> batch_norm).
      const found = type === undefined ? "no type" : `unknown layer type ${JSON.stringify(type)}${typeof type === "string" ? suggestionSuffix(type, LAYER_TYPES) : ""}`;
      throw new ModelError(`${source}: layers.${i}: ${found}; valid types: ${LAYER_TYPES.join(", ")}`, source, `layers.${i}.type`);
    }
  });
}

/**
 * zod's issues as the experiment file's are printed (spec/spec-issues.ts: expected, found, did you
 * mean, valid keys), with the layer an issue is in named by its key path and type, as the shape
 * errors name it: `layers.3.kernel` shown as `layers.3 (conv2d): kernel`, and a residual unit's
 * `layers.3.layers.1` as `layers.3.layers.1 (group_norm)`. A key reported missing next to an
 * unknown key suggested for it (a typo) is said once, by the suggestion.
 */
function schemaError(error: z.ZodError, spec: unknown, source: string): ModelError {
  const lines = formatIssues(error.issues, spec, source, ModelSpec);
  const suggested = new Set(lines.flatMap((l) => [...l.matchAll(/^(.*): unknown key '[^']*' \(did you mean '([^']*)'\?\)/g)].map((m) => (m[1].endsWith("(top level)") ? m[1].slice(0, -"(top level)".length) : `${m[1]}.`) + m[2])));
  const messages = lines
    .filter((l) => !(/: expected .*, found nothing \(the key is missing\)$/.test(l) && suggested.has(l.slice(0, l.indexOf(": expected")))))
    .map((l) => withLayerType(l.slice(source.length + 2), spec));
  return new ModelError(`${source}: ${messages.join(`\n${source}: `)}`, source, error.issues[0]?.path.join("."));
}

/** A layer's key path (top level, or in a residual unit's layers or shortcut list) at the start of an issue line. */
const LAYER_PATH = /^layers\.(\d+)(?:\.(layers|shortcut)\.(\d+))?(?=[.:])/;

/** An empty list item (`-` alone) is YAML's null: say what belongs there. */
const EMPTY_ITEM = ": expected a mapping, found null";

/** `line` ("layers.3.kernel: ...") with the type after the innermost layer's path, where the file gives a valid one. */
function withLayerType(line: string, spec: unknown): string {
  const m = LAYER_PATH.exec(line);
  if (m === null) return line;
  let rest = line.slice(m[0].length);
  if (rest === EMPTY_ITEM) return `${m[0]}: expected a layer mapping such as {type: conv2d, ...}, found an empty item`;
  const top = itemAt((spec as { layers?: unknown } | null)?.layers, Number(m[1]));
  const layer = m[2] === undefined ? top : itemAt((top as Record<string, unknown> | null)?.[m[2]], Number(m[3]));
  const type = (layer as { type?: unknown } | null)?.type;
  // An unknown type is the issue itself (`layers.3.type: expected conv2d | ...`): the path alone.
  if (!isLayerType(type)) return line;
  if (rest.startsWith(".")) rest = `: ${rest.slice(1)}`;
  return `${m[0]} (${type})${rest}`;
}

function itemAt(list: unknown, i: number): unknown {
  return Array.isArray(list) ? list[i] : undefined;
}

/** An experiment file given where a model file belongs: say so instead of listing its keys as unknown. */
function checkNotExperiment(doc: unknown, path: string): void {
  if (typeof doc !== "object" || doc === null || "layers" in doc) return;
  if ("data" in doc || "model" in doc || "train" in doc)
    throw new ModelError(`${path}: this is an experiment file (it has ${["model", "data", "train"].filter((k) => k in doc).join(":, ")}:), not a model file; a model file has name:, input:, classes: and layers: (see models/small-cnn.yaml)`, path);
}
