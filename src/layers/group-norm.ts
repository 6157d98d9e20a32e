/**
 * group_norm: torch.nn.GroupNorm (affine): each example's channels in G groups, normalised over
 * a group's channels and pixels; no running statistics, the same in training and evaluation.
 *   forward: x [N, C, ...] viewed as [N, G, C/G * pixels], y = xhat * weight + bias
 *   VJP: dbias = sum dy, dweight = sum dy * xhat, dx per group (norm-grads.ts)
 */
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer, LayerShapeError, param, shapeText } from "./layer-def.js";
import { affineParams, normalise, normaliseVjp, perChannel, sumPerChannel } from "./norm-grads.js";

type GroupNormSpec = Extract<LayerSpec, { type: "group_norm" }>;

export const groupNorm = defineLayer<GroupNormSpec>({
  type: "group_norm",
  parameterised: true,
  startsBlock: false,
  outShape(spec, inShape) {
    if (inShape.length !== 1 && inShape.length !== 3) throw new LayerShapeError(`group_norm needs a [channels] or [channels,height,width] input, found ${shapeText(inShape)}`);
    if (inShape[0] % spec.groups !== 0) throw new LayerShapeError(`${inShape[0]} channels do not split into ${spec.groups} groups`);
    return [...inShape];
  },
  params(_spec, inShape) {
    return affineParams(inShape[0]);
  },
  forward(g, layer, x, params) {
    const c = layer.inShape[0];
    const trailing = layer.inShape.length - 1;
    const groups = g.op("Reshape", [x, g.constInt64("n_g_rest", [0, layer.spec.groups, -1])]);
    const n = normalise(g, groups, [2], layer.spec.eps, 3);
    const xhat = g.op("Reshape", [n.xhat, g.constInt64("in_shape", [-1, ...layer.inShape])]);
    const y = g.op("Add", [g.op("Mul", [xhat, perChannel(g, param(params, "weight", layer), c, trailing)]), perChannel(g, param(params, "bias", layer), c, trailing)]);
    return { y, saved: { xhat, xhatGroups: n.xhat, invstd: n.invstd } };
  },
  // Rows: xhat as the input, xhatGroups [G, C/G * pixels], invstd [G, 1].
  laterFrames(layer, saved, cut) {
    const groups = layer.spec.groups;
    const perGroup = layer.inShape.reduce((a, b) => a * b, 1) / groups;
    return { xhat: cut.rows(saved.xhat, layer.inShape), xhatGroups: cut.rows(saved.xhatGroups, [groups, perGroup]), invstd: cut.rows(saved.invstd, [groups, 1]) };
  },
  vjp(g, layer, v, needDx) {
    const { xhat, xhatGroups, invstd } = v.saved;
    if (xhat === undefined || xhatGroups === undefined || invstd === undefined) throw new Error(`BUG: layer ${layer.index} (group_norm) VJP needs the forward's xhat`);
    const c = layer.inShape[0];
    const rank = layer.inShape.length + 1;
    const dParams = { weight: sumPerChannel(g, g.op("Mul", [v.dy, xhat]), rank, 1), bias: sumPerChannel(g, v.dy, rank, 1) };
    if (!needDx) return { dx: null, dParams };
    const dxhat = g.op("Mul", [v.dy, perChannel(g, param(v.params, "weight", layer), c, layer.inShape.length - 1)]);
    const dxhatGroups = g.op("Reshape", [dxhat, g.constInt64("n_g_rest", [0, layer.spec.groups, -1])]);
    const dx = normaliseVjp(g, dxhatGroups, { xhat: xhatGroups, invstd }, [2], 3);
    return { dx: g.op("Reshape", [dx, g.constInt64("in_shape", [-1, ...layer.inShape])]), dParams };
  },
});
