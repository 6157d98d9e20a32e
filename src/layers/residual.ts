/**
 * residual: output = layers(x) + shortcut(x), with the inner layers any kinds but residual, and
 * the shortcut the identity or a 1x1 conv2d (bias) with the inner layers' total stride and output
 * channels. Parameters and buffers are named as the PyTorch module that holds the inner layers in
 * an nn.Sequential `layers` and the conv in `shortcut` names them: "layers.{j}.weight",
 * "shortcut.bias". Forward and VJP are the inner layers' own, chained, plus the shortcut's; the
 * input gradient is the sum of both paths'.
 */
import type { GraphBuilder } from "../graph/graph-builder.js";
import type { InnerLayerSpec, LayerSpec } from "../model/model-spec.js";
import { conv2d } from "./conv2d.js";
import { defineLayer, LayerShapeError, shapeText, type BufferShape, type LayerDef, type ParamShape, type PlacedLayer, type VjpInputs } from "./layer-def.js";
import { layerDef } from "./registry.js";

type ResidualSpec = Extract<LayerSpec, { type: "residual" }>;
type Conv2dSpec = Extract<LayerSpec, { type: "conv2d" }>;

interface Unit {
  inner: PlacedLayer<InnerLayerSpec>[];
  /** The 1x1 conv of a `conv` shortcut, placed on the unit's input; null for identity. */
  shortcut: PlacedLayer<Conv2dSpec> | null;
  outShape: number[];
}

const innerPrefix = (j: number) => `layers.${j}.`;
const SHORTCUT = "shortcut.";

/** The stride of a layer that has one (pooling's defaults to its kernel), else 1. */
function strideOf(spec: InnerLayerSpec): number {
  if (spec.type === "conv2d") return spec.stride;
  if (spec.type === "maxpool2d" || spec.type === "avgpool2d") return spec.stride ?? spec.kernel;
  return 1;
}

/** The unit's inner layers and shortcut placed on `inShape`; throws LayerShapeError naming the culprit. */
function placeUnit(spec: ResidualSpec, index: number, inShape: readonly number[]): Unit {
  const inner: PlacedLayer<InnerLayerSpec>[] = [];
  let shape = [...inShape];
  spec.layers.forEach((s, j) => {
    let out: number[];
    try {
      out = layerDef(s).outShape(s, shape);
    } catch (err) {
      if (err instanceof LayerShapeError) throw new LayerShapeError(`inner layer ${j} (${s.type}): ${err.message}`);
      throw err;
    }
    inner.push({ index, spec: s, inShape: shape, outShape: out });
    shape = out;
  });
  if (spec.shortcut === "identity") {
    if (shape.length !== inShape.length || shape.some((d, i) => d !== inShape[i])) {
      throw new LayerShapeError(`shortcut identity needs the inner layers' output shape ${shapeText(shape)} to equal the input shape ${shapeText(inShape)} (use shortcut: conv)`);
    }
    return { inner, shortcut: null, outShape: shape };
  }
  if (inShape.length !== 3 || shape.length !== 3) throw new LayerShapeError(`shortcut conv needs [channels,height,width] input and output, found ${shapeText(inShape)} and ${shapeText(shape)}`);
  const stride = spec.layers.reduce((s, l) => s * strideOf(l), 1);
  const scSpec: Conv2dSpec = { type: "conv2d", out_channels: shape[0], kernel: 1, stride, padding: 0, bias: true };
  const scOut = conv2d.outShape(scSpec, inShape);
  if (scOut.some((d, i) => d !== shape[i])) {
    throw new LayerShapeError(`shortcut conv (1x1, stride ${stride}) outputs ${shapeText(scOut)}, but the inner layers output ${shapeText(shape)}`);
  }
  return { inner, shortcut: { index, spec: scSpec, inShape: [...inShape], outShape: scOut }, outShape: shape };
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
  params(spec, inShape) {
    const unit = placeUnit(spec, 0, inShape);
    const out: ParamShape[] = [];
    unit.inner.forEach((l, j) => out.push(...layerDef(l.spec).params(l.spec, l.inShape).map((p) => ({ ...p, suffix: innerPrefix(j) + p.suffix }))));
    if (unit.shortcut) out.push(...conv2d.params(unit.shortcut.spec, inShape).map((p) => ({ ...p, suffix: SHORTCUT + p.suffix })));
    return out;
  },
  buffers(spec, inShape) {
    const out: BufferShape[] = [];
    placeUnit(spec, 0, inShape).inner.forEach((l, j) => {
      const def: LayerDef = layerDef(l.spec);
      out.push(...(def.buffers?.(l.spec, l.inShape) ?? []).map((b) => ({ ...b, suffix: innerPrefix(j) + b.suffix })));
    });
    return out;
  },
  statKeys: (spec) => spec.layers.flatMap((s, j) => (layerDef(s).statKeys?.(s) ?? []).map((k) => innerPrefix(j) + k)),
  minClipsPerFrame(spec, inShape) {
    const needs = placeUnit(spec, 0, inShape).inner.map((l, j) => {
      const need = (layerDef(l.spec) as LayerDef).minClipsPerFrame?.(l.spec, l.inShape) ?? null;
      return need === null ? null : { ...need, layer: `inner layer ${j} (${need.layer})` };
    });
    return needs.reduce((most, n) => (n !== null && (most === null || n.clips > most.clips) ? n : most), null);
  },
  updateBuffers(spec, inShape, buffers, stats, clips) {
    placeUnit(spec, 0, inShape).inner.forEach((l, j) => {
      const def: LayerDef = layerDef(l.spec);
      def.updateBuffers?.(l.spec, l.inShape, within(buffers, innerPrefix(j)), within(stats, innerPrefix(j)), clips);
    });
  },
  forward(g, layer, x, params, training, buffers) {
    const unit = placeUnit(layer.spec, layer.index, layer.inShape);
    // saved: "{j}.x", "{j}.y" and "{j}.s.{key}" of inner layer j; "shortcut.y", "shortcut.s.{key}".
    const saved: Record<string, string> = {};
    const stats: Record<string, string> = {};
    let h = x;
    unit.inner.forEach((l, j) => {
      const def: LayerDef = layerDef(l.spec);
      const r = def.forward(g, l, h, within(params, innerPrefix(j)), training, buffers && within(buffers, innerPrefix(j)));
      saved[`${j}.x`] = h;
      saved[`${j}.y`] = r.y;
      prefixed(r.saved, `${j}.s.`, saved);
      prefixed(r.stats ?? {}, innerPrefix(j), stats);
      h = r.y;
    });
    let short = x;
    if (unit.shortcut) {
      const r = conv2d.forward(g, unit.shortcut, x, within(params, SHORTCUT), training);
      saved["shortcut.y"] = r.y;
      prefixed(r.saved, "shortcut.s.", saved);
      short = r.y;
    }
    return { y: g.op("Add", [h, short]), saved, ...(Object.keys(stats).length > 0 ? { stats } : {}) };
  },
  // Each inner layer's input and output (rows of its shapes) and its own saved values as that
  // layer cuts them; the shortcut conv's output and saved values likewise.
  laterFrames(layer, saved, cut) {
    const unit = placeUnit(layer.spec, layer.index, layer.inShape);
    const out: Record<string, string> = {};
    const cutOwn = (l: PlacedLayer, prefix: string): boolean => {
      const own = within(saved, prefix);
      if (Object.keys(own).length === 0) return true;
      const def: LayerDef = layerDef(l.spec);
      const later = def.laterFrames?.(l, own, cut) ?? null;
      if (later === null) return false;
      prefixed(later, prefix, out);
      return true;
    };
    for (const [j, l] of unit.inner.entries()) {
      out[`${j}.x`] = cut.rows(saved[`${j}.x`], l.inShape);
      out[`${j}.y`] = cut.rows(saved[`${j}.y`], l.outShape);
      if (!cutOwn(l, `${j}.s.`)) return null;
    }
    if (unit.shortcut) {
      out["shortcut.y"] = cut.rows(saved["shortcut.y"], unit.shortcut.outShape);
      if (!cutOwn(unit.shortcut, "shortcut.s.")) return null;
    }
    return out;
  },
  vjp(g, layer, v, needDx) {
    const unit = placeUnit(layer.spec, layer.index, layer.inShape);
    const dParams: Record<string, string> = {};
    const innerDx = innerVjp(g, unit.inner, v, needDx, dParams);
    let shortDx: string | null = needDx ? v.dy : null;
    if (unit.shortcut) {
      const r = conv2d.vjp(g, unit.shortcut, { x: v.x, y: savedValue(v, "shortcut.y", layer), dy: v.dy, params: within(v.params, SHORTCUT), saved: within(v.saved, "shortcut.s.") }, needDx);
      prefixed(r.dParams as Record<string, string>, SHORTCUT, dParams);
      shortDx = r.dx;
    }
    return { dx: needDx ? g.op("Add", [innerDx as string, shortDx as string]) : null, dParams };
  },
});

function savedValue(v: VjpInputs, key: string, layer: PlacedLayer): string {
  const value = v.saved[key];
  if (value === undefined) throw new Error(`BUG: layer ${layer.index} (residual) VJP needs the forward's ${key}`);
  return value;
}

/** The inner layers' VJPs top down (as a block's, block-graphs.ts); returns the inner path's dx. */
function innerVjp(g: GraphBuilder, inner: PlacedLayer<InnerLayerSpec>[], v: VjpInputs, needDx: boolean, dParams: Record<string, string>): string | null {
  const needs: boolean[] = [];
  inner.forEach((_, j) => (needs[j] = j === 0 ? needDx : needs[j - 1] || layerDef(inner[j - 1].spec).parameterised));
  let dy = v.dy;
  for (let j = inner.length - 1; j >= 0; j--) {
    const def: LayerDef = layerDef(inner[j].spec);
    if (!def.parameterised && !needs[j]) return null;
    const inputs = { x: savedValue(v, `${j}.x`, inner[j]), y: savedValue(v, `${j}.y`, inner[j]), dy, params: within(v.params, innerPrefix(j)), saved: within(v.saved, `${j}.s.`) };
    const r = def.vjp(g, inner[j], inputs, needs[j]);
    prefixed(r.dParams as Record<string, string>, innerPrefix(j), dParams);
    if (r.dx === null) return null;
    dy = r.dx;
  }
  return dy;
}
