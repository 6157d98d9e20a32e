/**
 * silu: y = x * sigmoid(x) (PyTorch's SiLU, also called swish); dx = dy * s * (1 + x * (1 - s))
 * with s = sigmoid(x). The VJP reads only x and recomputes s, one Sigmoid, rather than saving it:
 * keeping x alone is the least a backward of this layer can keep (y does not give x back).
 */
import type { LayerSpec } from "../model/model-spec.js";
import { defineLayer } from "./layer-def.js";

type SiluSpec = Extract<LayerSpec, { type: "silu" }>;

export const silu = defineLayer<SiluSpec>({
  type: "silu",
  parameterised: false,
  outShape: (_spec, inShape) => [...inShape],
  params: () => [],
  forward: (g, _layer, x) => ({ y: g.op("Mul", [x, g.op("Sigmoid", [x])]), saved: {} }),
  vjp(g, _layer, v, needDx) {
    if (!needDx) return { dx: null, dParams: {} };
    const one = g.constFloat("one", [1], []);
    const s = g.op("Sigmoid", [v.x]);
    const slope = g.op("Mul", [s, g.op("Add", [one, g.op("Mul", [v.x, g.op("Sub", [one, s])])])]);
    return { dx: g.op("Mul", [v.dy, slope]), dParams: {} };
  },
});
