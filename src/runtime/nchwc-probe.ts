/**
 * Which graph target the runtime supports (src/graph/graph-builder.ts GraphTarget): on the CPU
 * provider, onnxruntime's NCHWc kernels and their channel block size (16 with AVX-512, 8 with
 * AVX2, none on other CPUs). onnxruntime exposes no call for the block size, so the probe asks its
 * optimizer: a 1-channel conv with a constant weight is rewritten to an NCHWc Conv whose
 * reordered filter has its output channels padded to one block.
 * SIDEWAYS_NCHWC=0 turns the NCHWc graphs off (portable graphs everywhere), e.g. to compare.
 *
 * SIDEWAYS_CUDA_WGRAD=conv builds the CUDA provider's graphs with conv2d's weight gradient as one
 * dilated Conv (CUDA_CONV_WGRAD_TARGET; src/layers/conv-grads.ts convWeightGrad) instead of the
 * portable unfold/phase forms; unset (or "unfold") keeps CUDA_TARGET. An A/B switch for a GPU
 * session (docs/PERFORMANCE.md attempt 64), not a default; other providers ignore it.
 * SIDEWAYS_GRAPH_FORMS sets any formulation of a GPU provider's target (src/runtime/graph-forms.ts).
 */
import { ProviderError } from "../errors.js";
import { CUDA_CONV_WGRAD_TARGET, CUDA_TARGET, GraphBuilder, NCHWC_DOMAIN, PORTABLE_TARGET, WEBGPU_TARGET, type GraphTarget } from "../graph/graph-builder.js";
import { onnx } from "../graph/onnx.js";
import { graphFormsFromEnv } from "./graph-forms.js";
import type { ProviderOptions } from "./providers.js";
import { cpuOptimizedGraph } from "./session.js";

let probed: Promise<number> | null = null;

export async function graphTargetFor(opts: ProviderOptions): Promise<GraphTarget> {
  if (opts.provider === "webgpu") return withForms(WEBGPU_TARGET, "webgpu");
  if (opts.provider === "cuda") return withForms(cudaWeightGradForm() === "conv" ? CUDA_CONV_WGRAD_TARGET : CUDA_TARGET, "cuda");
  if (opts.provider !== "cpu" || process.env.SIDEWAYS_NCHWC === "0") return PORTABLE_TARGET;
  probed ??= probeNchwcBlock();
  return { nchwcBlock: await probed, cpu: true };
}

/** A GPU provider's target with the forms SIDEWAYS_GRAPH_FORMS asks for (src/runtime/graph-forms.ts); the target itself where none. */
function withForms(target: GraphTarget, provider: "cuda" | "webgpu"): GraphTarget {
  const forms = graphFormsFromEnv();
  if (provider === "webgpu" && forms.convWeightGrad === "conv") {
    // Its Conv takes the batch rows as input channels, a count known only at run time, so
    // src/layers/webgpu-conv-faults.ts cannot add channels ahead where WebGPU's Conv miscomputes.
    throw new ProviderError(`SIDEWAYS_GRAPH_FORMS: convWeightGrad=conv cannot run on webgpu: onnxruntime's WebGPU Conv miscomputes some input channel counts and this form's are the batch rows (docs/GPU.md "WebGPU EP faults")`);
  }
  return Object.keys(forms).length === 0 ? target : { ...target, ...forms };
}

/** conv2d's weight-gradient form SIDEWAYS_CUDA_WGRAD asks for on the CUDA provider. */
function cudaWeightGradForm(): "unfold" | "conv" {
  const v = process.env.SIDEWAYS_CUDA_WGRAD;
  if (v === undefined || v === "" || v === "unfold") return "unfold";
  if (v === "conv") return "conv";
  throw new ProviderError(`SIDEWAYS_CUDA_WGRAD=${v}: expected conv (conv2d's weight gradient as one dilated Conv) or unfold (the default)`);
}

async function probeNchwcBlock(): Promise<number> {
  const g = new GraphBuilder("nchwc-probe");
  const x = g.input("x", [1, 4, 4]);
  const w = g.constFloat("w", [1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 1, 3, 3]);
  g.output(g.op("Conv", [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), [1, 4, 4], "y");
  const optimized = onnx.ModelProto.decode(await cpuOptimizedGraph(g.toBytes()));
  const conv = optimized.graph?.node?.find((n) => n.domain === NCHWC_DOMAIN && n.opType === "Conv");
  const filter = optimized.graph?.initializer?.find((t) => t.name === conv?.input?.[1]);
  const block = Number(filter?.dims?.[0] ?? 0);
  return Number.isInteger(block) && block > 1 ? block : 0;
}
