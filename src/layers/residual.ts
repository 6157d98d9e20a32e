/**
 * residual: output = layers(x) + shortcut(x), with the inner layers any kinds but residual, and
 * the shortcut the identity, a 1x1 conv2d (bias) with the inner layers' total stride and output
 * channels, or a list of layers of its own (torchvision's downsample: a bias-free 1x1 conv and a
 * batch_norm). Parameters and buffers are named as the PyTorch module that holds the inner layers
 * in an nn.Sequential `layers` and the shortcut in `shortcut` (the conv, or an nn.Sequential of
 * the list) names them: "layers.{j}.weight", "shortcut.bias", "shortcut.{j}.running_mean".
 * Each path is a chain of layers whose forwards and VJPs are their own, chained; the input
 * gradient is the sum of both paths'.
 */
import type { GraphBuilder } from "../graph/graph-builder.js";
import type { InnerLayerSpec, LayerSpec } from "../model/model-spec.js";
import { defineLayer, LayerShapeError, shapeText, type BufferShape, type LayerDef, type ParamShape, type PlacedLayer, type VjpInputs } from "./layer-def.js";
import { layerDef } from "./registry.js";

type ResidualSpec = Extract<LayerSpec, { type: "residual" }>;
type Conv2dSpec = Extract<LayerSpec, { type: "conv2d" }>;

/** A layer of one of a unit's two paths, and the prefixes of its parameter and saved-value names. */
interface PathLayer {
  placed: PlacedLayer<InnerLayerSpec>;
  /** Of its parameters, buffers and statistics: "layers.{j}.", "shortcut." or "shortcut.{j}.". */
  names: string;
  /** Of its input "x", output "y" and own saved values "s.{key}" in the unit's saved values: "{j}.", "shortcut." or "shortcut.{j}.". */
  saved: string;
  /** In error messages, its key path within the unit: "layers.{j}", "shortcut" (the conv) or "shortcut.{j}". */
  label: string;
}

interface Unit {
  inner: PathLayer[];
  /** Empty for the identity. */
  shortcut: PathLayer[];
  outShape: number[];
}

/** The stride of a layer that has one (pooling's defaults to its kernel), else 1. */
function strideOf(spec: InnerLayerSpec): number {
  if (spec.type === "conv2d") return spec.stride;
  if (spec.type === "maxpool2d" || spec.type === "avgpool2d") return spec.stride ?? spec.kernel;
  return 1;
}

/** `specs` chained from `inShape`; throws LayerShapeError naming the layer. */
function placePath(specs: readonly InnerLayerSpec[], index: number, inShape: readonly number[], names: (j: number) => string, saved: (j: number) => string, label: (j: number) => string): { path: PathLayer[]; outShape: number[] } {
  const path: PathLayer[] = [];
  let shape = [...inShape];
  specs.forEach((s, j) => {
    let out: number[];
    try {
      out = layerDef(s).outShape(s, shape);
    } catch (err) {
      if (err instanceof LayerShapeError) throw new LayerShapeError(err.message, `${label(j)} (${s.type})`);
      throw err;
    }
    path.push({ placed: { index, spec: s, inShape: shape, outShape: out }, names: names(j), saved: saved(j), label: label(j) });
    shape = out;
  });
  return { path, outShape: shape };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The unit's two paths placed on `inShape`; throws LayerShapeError naming the culprit. */
function placeUnit(spec: ResidualSpec, index: number, inShape: readonly number[]): Unit {
  const { path: inner, outShape } = placePath(spec.layers, index, inShape, (j) => `layers.${j}.`, (j) => `${j}.`, (j) => `layers.${j}`);
  if (spec.shortcut === "identity") {
    if (!sameShape(outShape, inShape)) {
      throw new LayerShapeError(`shortcut identity needs the inner layers' output shape ${shapeText(outShape)} to equal the input shape ${shapeText(inShape)} (use shortcut: conv, or a list of layers)`);
    }
    return { inner, shortcut: [], outShape };
  }
  if (spec.shortcut === "conv") {
    if (inShape.length !== 3 || outShape.length !== 3) throw new LayerShapeError(`shortcut conv needs [channels,height,width] input and output, found ${shapeText(inShape)} and ${shapeText(outShape)}`);
    const stride = spec.layers.reduce((s, l) => s * strideOf(l), 1);
    const conv: Conv2dSpec = { type: "conv2d", out_channels: outShape[0], kernel: 1, stride, padding: 0, bias: true };
    const { path, outShape: convOut } = placePath([conv], index, inShape, () => "shortcut.", () => "shortcut.", () => "shortcut");
    if (!sameShape(convOut, outShape)) {
      throw new LayerShapeError(`shortcut conv (1x1, stride ${stride}) outputs ${shapeText(convOut)}, but the inner layers output ${shapeText(outShape)}`);
    }
    return { inner, shortcut: path, outShape };
  }
  const { path, outShape: shortOut } = placePath(spec.shortcut, index, inShape, (j) => `shortcut.${j}.`, (j) => `shortcut.${j}.`, (j) => `shortcut.${j}`);
  if (!sameShape(shortOut, outShape)) {
    throw new LayerShapeError(`the shortcut's layers output ${shapeText(shortOut)}, but the inner layers output ${shapeText(outShape)}: the two paths are added`);
  }
  return { inner, shortcut: path, outShape };
}

/** Both paths' layers, the inner ones first. */
const pathLayers = (unit: Unit): PathLayer[] => [...unit.inner, ...unit.shortcut];

/** The layers the spec lists (the inner ones and a list shortcut's) with their name prefixes: what needs no shapes. */
function listedLayers(spec: ResidualSpec): { spec: InnerLayerSpec; names: string }[] {
  const shortcut = Array.isArray(spec.shortcut) ? spec.shortcut : [];
  return [...spec.layers.map((s, j) => ({ spec: s, names: `layers.${j}.` })), ...shortcut.map((s, j) => ({ spec: s, names: `shortcut.${j}.` }))];
}

/** The entries of `record` whose key starts with `prefix`, the prefix removed. */
function within<T>(record: Record<string, T>, prefix: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(record)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

function prefixed<T>(record: Record<string, T>, prefix: string, into: Record<string, T>): void {
  for (const [k, v] of Object.entries(record)) into[prefix + k] = v;
}

export const residual = defineLayer<ResidualSpec>({
  type: "residual",
  parameterised: true,
  outShape: (spec, inShape) => placeUnit(spec, 0, inShape).outShape,
  params: (spec, inShape) =>
    pathLayers(placeUnit(spec, 0, inShape)).flatMap(({ placed: l, names }) => layerDef(l.spec).params(l.spec, l.inShape).map((p): ParamShape => ({ ...p, suffix: names + p.suffix }))),
  buffers: (spec, inShape) =>
    pathLayers(placeUnit(spec, 0, inShape)).flatMap(({ placed: l, names }) => ((layerDef(l.spec) as LayerDef).buffers?.(l.spec, l.inShape) ?? []).map((b): BufferShape => ({ ...b, suffix: names + b.suffix }))),
  statKeys: (spec) => listedLayers(spec).flatMap(({ spec: s, names }) => (layerDef(s).statKeys?.(s) ?? []).map((k) => names + k)),
  minClipsPerFrame(spec, inShape) {
    const needs = pathLayers(placeUnit(spec, 0, inShape)).map(({ placed: l, label }) => {
      const need = (layerDef(l.spec) as LayerDef).minClipsPerFrame?.(l.spec, l.inShape) ?? null;
      return need === null ? null : { ...need, layer: `${label} (${need.layer})` };
    });
    return needs.reduce((most, n) => (n !== null && (most === null || n.clips > most.clips) ? n : most), null);
  },
  updateBuffers(spec, inShape, buffers, stats, clips) {
    for (const { placed: l, names } of pathLayers(placeUnit(spec, 0, inShape))) {
      (layerDef(l.spec) as LayerDef).updateBuffers?.(l.spec, l.inShape, within(buffers, names), within(stats, names), clips);
    }
  },
  forward(g, layer, x, params, training, buffers) {
    const unit = placeUnit(layer.spec, layer.index, layer.inShape);
    // saved: each path layer's input "{saved}x", output "{saved}y" and own values "{saved}s.{key}".
    const saved: Record<string, string> = {};
    const stats: Record<string, string> = {};
    const forwardPath = (path: PathLayer[]) =>
      path.reduce((h, { placed: l, names, saved: at }) => {
        const r = (layerDef(l.spec) as LayerDef).forward(g, l, h, within(params, names), training, buffers && within(buffers, names));
        saved[`${at}x`] = h;
        saved[`${at}y`] = r.y;
        prefixed(r.saved, `${at}s.`, saved);
        prefixed(r.stats ?? {}, names, stats);
        return r.y;
      }, x);
    const y = g.op("Add", [forwardPath(unit.inner), forwardPath(unit.shortcut)]);
    return { y, saved, ...(Object.keys(stats).length > 0 ? { stats } : {}) };
  },
  // Each path layer's input and output (rows of its shapes) and its own saved values as that layer cuts them.
  laterFrames(layer, saved, cut) {
    const out: Record<string, string> = {};
    for (const { placed: l, saved: at } of pathLayers(placeUnit(layer.spec, layer.index, layer.inShape))) {
      out[`${at}x`] = cut.rows(savedValue(saved, `${at}x`, layer), l.inShape);
      out[`${at}y`] = cut.rows(savedValue(saved, `${at}y`, layer), l.outShape);
      const own = within(saved, `${at}s.`);
      if (Object.keys(own).length === 0) continue;
      const later = (layerDef(l.spec) as LayerDef).laterFrames?.(l, own, cut) ?? null;
      if (later === null) return null;
      prefixed(later, `${at}s.`, out);
    }
    return out;
  },
  vjp(g, layer, v, needDx) {
    const unit = placeUnit(layer.spec, layer.index, layer.inShape);
    const dParams: Record<string, string> = {};
    const innerDx = pathVjp(g, layer, unit.inner, v, needDx, dParams);
    const shortDx = pathVjp(g, layer, unit.shortcut, v, needDx, dParams);
    return { dx: needDx ? g.op("Add", [innerDx as string, shortDx as string]) : null, dParams };
  },
});

function savedValue(saved: Record<string, string>, key: string, layer: PlacedLayer): string {
  const value = saved[key];
  if (value === undefined) throw new Error(`BUG: layer ${layer.index} (residual) needs the forward's ${key}`);
  return value;
}

/**
 * A path's VJPs top down (as a block's, block-graphs.ts), its parameters' gradients added to
 * `dParams`; returns the path's input gradient (v.dy through an empty path, the identity), or null
 * where no one needs it.
 */
function pathVjp(g: GraphBuilder, unit: PlacedLayer, path: PathLayer[], v: VjpInputs, needDx: boolean, dParams: Record<string, string>): string | null {
  const needs: boolean[] = [];
  path.forEach((_, j) => (needs[j] = j === 0 ? needDx : needs[j - 1] || layerDef(path[j - 1].placed.spec).parameterised));
  let dy = v.dy;
  for (let j = path.length - 1; j >= 0; j--) {
    const { placed: l, names, saved: at } = path[j];
    const def: LayerDef = layerDef(l.spec);
    if (!def.parameterised && !needs[j]) return null;
    const inputs = { x: savedValue(v.saved, `${at}x`, unit), y: savedValue(v.saved, `${at}y`, unit), dy, params: within(v.params, names), saved: within(v.saved, `${at}s.`) };
    const r = def.vjp(g, l, inputs, needs[j]);
    prefixed(r.dParams as Record<string, string>, names, dParams);
    if (r.dx === null) return null;
    dy = r.dx;
  }
  return needDx ? dy : null;
}
