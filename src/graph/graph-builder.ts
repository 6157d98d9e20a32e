/**
 * A small builder for ONNX graphs (IR 8, opset 17; docs/design/onnxruntime-node.md).
 * Graph inputs and outputs are float32 with a symbolic batch dimension "N" before the fixed
 * per-example dimensions. Constants go into initializers as little-endian `rawData`.
 * The builder never imports onnxruntime: it only produces bytes.
 */
import { onnx } from "./onnx.js";

export const IR_VERSION = 8;
export const OPSET_VERSION = 17;
/** Name of the symbolic batch dimension of every graph input and output. */
export const BATCH_DIM = "N";

/** Attribute values: numbers are ints unless wrapped with `float()`; a tensor attribute via `attrTensor`. */
export type AttrValue = number | string | number[] | FloatAttr | TensorAttr;
export interface FloatAttr {
  kind: "float";
  value: number;
}
export interface TensorAttr {
  kind: "tensor";
  tensor: onnx.ITensorProto;
}
export type Attrs = Record<string, AttrValue>;

/**
 * What the graphs are built for. `nchwcBlock` > 0: onnxruntime's CPU kernels for NCHWc blocked
 * layouts (the `com.microsoft.nchwc` ops its own optimizer emits for constant weights) exist with
 * this channel block size, so layers may call them directly with weights fed at run time
 * (src/runtime/nchwc-probe.ts finds it). 0: portable ONNX only (exported graphs, GPU providers).
 * `cpu`: onnxruntime's CPU provider runs the graphs, so layers may choose the formulation its
 * kernels run fastest (conv2d: a training forward through the unfold its weight gradient reuses).
 */
export interface GraphTarget {
  nchwcBlock: number;
  cpu: boolean;
  /**
   * How maxpool2d's VJP finds each window's winner: "indices", from MaxPool's Indices output (the
   * default; onnxruntime's CPU and CUDA kernels have it), or "windows", by comparing each window
   * tap with the output (for execution providers without Indices, e.g. onnxruntime's WebGPU EP).
   */
  maxPoolVjp?: "indices" | "windows";
  /**
   * How conv2d forms its weight gradient on a non-CPU target: "unfold", the formulations chosen
   * on the CPU provider (an unfold and a batched MatMul at stride 1, input phases at stride S;
   * the default); "columns", the unfold at every stride (K*K strided Slices, one batched MatMul,
   * a sum over the batch: no SpaceToDepth, Pad or shifted copies of dy); or "conv", one Conv of
   * x against dy as its kernel, dilated by the stride (src/layers/conv-grads.ts convWeightGrad),
   * for a GPU EP whose conv kernels beat many small Slice/Concat/ReduceSum kernels; or "gemm", one
   * MatMul of dy as (M, N*h*w) against columns unfolded from x as (C*K*K, N*h*w), at every stride
   * (src/layers/conv-grads.ts gemmWeightGrad: one GEMM with a long inner dimension instead of N
   * thin products and their sum). Ignored where `cpu` is set: the CPU target keeps its own.
   */
  convWeightGrad?: "unfold" | "columns" | "conv" | "gemm";
  /**
   * How a sum over every axis but the channel (conv2d's bias gradient, the normalisations'
   * parameter gradients) is reduced: "direct", one ReduceSum over those axes (the default), or
   * "staged", a ReduceSum over the contiguous trailing axes and then one over the leading ones, as
   * src/layers/norm-grads.ts meanOver does for means. onnxruntime's CUDA EP runs a reduction over
   * contiguous axes with its own matrix kernels and one over axes interleaved with a kept one with
   * cuDNN's ReduceTensor, which took 1.4 of the 6.4 ms of kernel time in quickstart-wide's BP
   * step at 256 x 8 clips on an H100 (docs/PERFORMANCE.md attempt 67).
   */
  channelSums?: "direct" | "staged";
  /**
   * How relu's VJP forms its mask float(y > 0) from the ReLU output y: "cast", Cast(Cast(y, bool),
   * float) (the default; the fastest on the CPU provider, docs/PERFORMANCE.md attempt 35), or
   * "sign", Sign(y), one elementwise kernel instead of two (y >= 0, so Sign(y) is 1 where y > 0
   * and 0 where y is 0 or -0).
   */
  reluMask?: "cast" | "sign";
  /**
   * How conv2d forms its input gradient on a non-CPU target: "transpose", one ConvTranspose (the
   * default); "subpixel", one Conv of dy with a kernel gathered from W (src/layers/conv-grads.ts
   * subPixelInputGrad: the flipped, channel-swapped W at stride 1; at stride S one stride-1 conv
   * giving dx's S x S phases), the phases interleaved by DepthToSpace; "phases", the same Conv,
   * with the phases handed as they are to the layers below that take them in a fused graph (the
   * CPU target's rule, docs/PERFORMANCE.md attempt 37), else interleaved. Where the sub-pixel form
   * does not apply (an input that does not split evenly, P > K - 1), ConvTranspose. Ignored where
   * `cpu` is set: the CPU target keeps its own.
   */
  convInputGrad?: "transpose" | "subpixel" | "phases";
  /**
   * The most input channels for which a stride-1 conv2d's forward is a 1x1 Conv over the unfolded
   * columns (src/layers/conv-grads.ts unfoldColumns), instead of a K x K Conv (0, the default:
   * never): in a training forward its weight gradient reuses them; a plain forward (a block given
   * its gradient as phases, an evaluation) builds them for the forward alone. The CPU target does
   * so in every training forward (docs/PERFORMANCE.md attempt 31).
   */
  unfoldForwardChannels?: number;
  /**
   * How conv2d and a ReLU right after it run on a non-CPU target: "separate", a Conv then a Relu
   * (the default; onnxruntime's CUDA EP adds the conv's bias in a cuDNN kernel of its own, and its
   * Conv+Relu fusion did not happen in docs/GPU.md run 6's profile), or "fused", one
   * com.microsoft FusedConv with activation Relu (ORT_CONTRIB_DOMAIN: the contrib op onnxruntime's
   * CPU and CUDA EPs register; CUDA runs bias and ReLU inside the conv's cuDNN call where cuDNN
   * takes the fused call, else as the Conv, bias and activation kernels of before; the WebGPU EP
   * has none and runs it on the CPU: docs/design/onnxruntime-node.md).
   */
  convRelu?: "separate" | "fused";
  /**
   * How the device step (src/train/device-step-graph.ts) cuts its flat parameter vector into the
   * parameters: "split", one Split (the default), or "slices", a Slice per parameter. onnxruntime's
   * CUDA Split with parts of unequal sizes copies its size tables through pinned host memory on
   * every call; it took 300 us of host time, the most of any node, in docs/GPU.md run 6's profile.
   * Ignored where `cpu` is set.
   */
  paramSplit?: "split" | "slices";
  /**
   * How a tensor is split into its S x S phases (src/layers/phases.ts spaceToDepth): "op", one
   * SpaceToDepth (the default), or "transpose", a Reshape, a Transpose and a Reshape with the same
   * values, for onnxruntime's WebGPU EP, which has no SpaceToDepth kernel and runs the op on the
   * CPU between a copy to the host and one back (the session waits for the GPU at each). A
   * candidate for WebGPU: on lavapipe, whose "GPU" is the CPU, within the noise (0.98-1.04x,
   * docs/PERFORMANCE.md attempt 75); a GPU's copies are measured by the next GPU check.
   */
  spaceToDepth?: "op" | "transpose";
  /**
   * How the Sideways whole-clip graph (src/layers/block-graphs.ts addSidewaysClip) runs a block:
   * "shared" (the default), one forward over all the block's frames, its backward reading the
   * frames it pairs as slices of that forward's values (the layers' saved values included, each
   * cut as its layer says: LayerDef.laterFrames), with the input gradient handed down as phases
   * where BP's fused graph hands them (addFusedBp); "split", two forwards (the frames no backward
   * reads, then those it reads) and every gradient handed down interleaved: a second forward and a
   * Concat per block. docs/PERFORMANCE.md attempt 74.
   */
  sidewaysClip?: "shared" | "split";
  /**
   * How the device step's in-graph loss (src/train/device-step-graph.ts addFrameLosses) takes the
   * log-probabilities: "op", one LogSoftmax (the default), or "reductions", x - max - log(sum exp(x
   * - max)) from ReduceMax, Sub, Exp, ReduceSum and Log: onnxruntime's WebGPU EP has no LogSoftmax
   * kernel and would run it on the CPU between a copy to the host and one back.
   */
  logSoftmax?: "op" | "reductions";
  /**
   * The most outputs one Split node may have (absent: any number). onnxruntime's WebGPU Split
   * binds its input and every output as storage buffers of one shader, and a shader stage takes
   * at most 16 of them on lavapipe ("Too many storage buffers in shader. Current: 17, Max is 16"):
   * the device step's Split of its flat parameter vector into resnet-mnist's 25 parameters failed
   * there. WebGPU's target: 15.
   */
  maxSplitOutputs?: number;
  /**
   * Whether the Conv shapes onnxruntime's WebGPU Conv miscomputes are written another way with
   * the same values (src/layers/webgpu-conv-faults.ts): WebGPU's target.
   */
  avoidWebGpuConvFaults?: boolean;
}

/** Domain of onnxruntime's contrib ops (version 1), e.g. FusedConv. */
export const ORT_CONTRIB_DOMAIN = "com.microsoft";

/** The GraphTarget fields that choose a formulation: the ones SIDEWAYS_GRAPH_FORMS may set (src/runtime/graph-forms.ts). */
export type GraphForms = Omit<GraphTarget, "nchwcBlock" | "cpu" | "avoidWebGpuConvFaults" | "maxSplitOutputs">;

export const PORTABLE_TARGET: GraphTarget = { nchwcBlock: 0, cpu: false };

/**
 * onnxruntime's CUDA EP: portable ONNX with reductions and masks formed as its kernels run them
 * fastest (docs/PERFORMANCE.md attempt 67), conv2d's input gradient as the sub-pixel Conv handed
 * down as phases and each conv2d + ReLU as one FusedConv (attempt 69: the BP device step 1.22x
 * faster at 256 x 8 clips on an H200); the default on `provider: cuda`.
 */
export const CUDA_TARGET: GraphTarget = { nchwcBlock: 0, cpu: false, channelSums: "staged", reluMask: "sign", convInputGrad: "phases", convRelu: "fused" };

/**
 * onnxruntime's WebGPU EP: portable ONNX, no MaxPool Indices output, and the Conv shapes it
 * miscomputes written another way (docs/GPU.md "WebGPU EP faults").
 */
// spaceToDepth "transpose": the WebGPU EP runs SpaceToDepth on the CPU, between two copies; on an
// NVIDIA H200's Vulkan driver the device steps ran 6.9x (BP) and 5.1x (Sideways) faster without it
// (docs/PERFORMANCE.md attempt 75, docs/GPU.md run 9).
export const WEBGPU_TARGET: GraphTarget = { nchwcBlock: 0, cpu: false, maxPoolVjp: "windows", avoidWebGpuConvFaults: true, maxSplitOutputs: 15, spaceToDepth: "transpose", logSoftmax: "reductions" };

/**
 * onnxruntime's CUDA EP with conv2d's weight gradient as one dilated Conv: an A/B candidate
 * against CUDA_TARGET, chosen only by SIDEWAYS_CUDA_WGRAD=conv (src/runtime/nchwc-probe.ts; the
 * same as SIDEWAYS_GRAPH_FORMS=convWeightGrad=conv, kept for the commands of docs/GPU.md run 6).
 * 5.6x slower than the unfold forms on an H100 with attempt 67's other forms (docs/PERFORMANCE.md
 * attempt 64); with CUDA_TARGET's phases and FusedConv since attempt 69, unmeasured.
 */
export const CUDA_CONV_WGRAD_TARGET: GraphTarget = { ...CUDA_TARGET, convWeightGrad: "conv" };

/** Domain of onnxruntime's NCHWc CPU ops (contrib ops, version 1). */
export const NCHWC_DOMAIN = "com.microsoft.nchwc";

export function float(value: number): FloatAttr {
  return { kind: "float", value };
}

/** A 1-element float32 tensor, e.g. for ConstantOfShape's `value`. */
export function floatTensorAttr(value: number): TensorAttr {
  return { kind: "tensor", tensor: floatTensor("value", Float32Array.of(value), [1]) };
}

function floatTensor(name: string, data: Float32Array, dims: number[]): onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: littleEndianBytes(data) };
}

function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  else data.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return bytes;
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error(`BUG: attribute ${name}=${value} is not an integer; wrap floats with float()`);
    return { name, type: T.INT, i: value };
  }
  if (typeof value === "string") return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (value.kind === "float") return { name, type: T.FLOAT, f: value.value };
  return { name, type: T.TENSOR, t: value.tensor };
}

function valueInfo(name: string, dims: readonly (number | string)[], elemType: number = onnx.TensorProto.DataType.FLOAT): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  /** Every value name handed out or used. */
  private readonly names = new Set<string>();
  /** Values that exist: graph inputs, initializers, node outputs. */
  private readonly defined = new Set<string>();
  private readonly counters = new Map<string, number>();
  /** Operator domains other than ONNX's used by some node (each imported at version 1). */
  private readonly domains = new Set<string>();
  /** Values made once per graph and shared by every reader (memo()). */
  private readonly memos = new Map<string, string>();

  constructor(
    readonly name: string,
    readonly target: GraphTarget = PORTABLE_TARGET,
  ) {}

  /** A value name not used yet, derived from `hint` (`hint`, then `hint_1`, `hint_2`, ...). */
  fresh(hint: string): string {
    let n = this.counters.get(hint) ?? 0;
    let candidate = n === 0 ? hint : `${hint}_${n}`;
    while (this.names.has(candidate)) candidate = `${hint}_${++n}`;
    this.counters.set(hint, n + 1);
    this.names.add(candidate);
    return candidate;
  }

  /** Marks `name` as defined; a name from fresh() may be claimed once, any other name must be new. */
  private claim(name: string): string {
    if (this.defined.has(name)) throw new Error(`BUG: graph ${this.name} already has a value named ${name}`);
    this.names.add(name);
    this.defined.add(name);
    return name;
  }

  /** Whether `value` exists in the graph (a graph input, an initializer or a node output). */
  has(value: string): boolean {
    return this.defined.has(value);
  }

  /** A float32 graph input shaped [N, ...dims]. */
  input(name: string, dims: readonly number[]): string {
    this.inputs.push(valueInfo(this.claim(name), [BATCH_DIM, ...dims]));
    return name;
  }

  /** A uint8 graph input shaped [N, ...dims] (8-bit pixels). */
  inputBytes(name: string, dims: readonly number[]): string {
    this.inputs.push(valueInfo(this.claim(name), [BATCH_DIM, ...dims], onnx.TensorProto.DataType.UINT8));
    return name;
  }

  /** A float32 graph input with fixed dims (no batch dimension), e.g. a parameter. */
  inputFixed(name: string, dims: readonly number[]): string {
    this.inputs.push(valueInfo(this.claim(name), dims));
    return name;
  }

  /**
   * Declares `value` a graph output named `name` (default: the value's own name), shaped
   * [N, ...dims]. A value made by a node is renamed in place; a graph input or a value that
   * is already an output is copied by an Identity node.
   */
  output(value: string, dims: readonly number[], name = value): string {
    if (name !== value) {
      const producer = this.nodes.find((n) => n.output?.includes(value));
      const isOutput = this.outputs.some((o) => o.name === value);
      if (producer && !isOutput) this.rename(value, name);
      else this.node("Identity", [value], [name]);
    }
    this.outputs.push(valueInfo(name, [BATCH_DIM, ...dims]));
    return name;
  }

  /** Like output(), for a value without a batch dimension (e.g. a parameter gradient). */
  outputFixed(value: string, dims: readonly number[], name = value): string {
    this.output(value, [], name);
    this.outputs[this.outputs.length - 1] = valueInfo(name, dims);
    return name;
  }

  /** Stops declaring `name` a graph output; the value stays readable by later nodes. */
  dropOutput(name: string): void {
    const i = this.outputs.findIndex((o) => o.name === name);
    if (i < 0) throw new Error(`BUG: graph ${this.name} has no output named ${name}`);
    this.outputs.splice(i, 1);
  }

  private rename(from: string, to: string): void {
    this.claim(to);
    this.defined.delete(from);
    for (const n of this.nodes) {
      n.input = n.input?.map((v) => (v === from ? to : v));
      n.output = n.output?.map((v) => (v === from ? to : v));
    }
  }

  constFloat(hint: string, data: readonly number[] | Float32Array, dims: number[]): string {
    const name = this.claim(this.fresh(hint));
    this.initializers.push(floatTensor(name, Float32Array.from(data), dims));
    return name;
  }

  constInt64(hint: string, data: readonly number[], dims: number[] = [data.length]): string {
    const name = this.claim(this.fresh(hint));
    const values = BigInt64Array.from(data.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.INT64, rawData: littleEndianBytes(values) });
    return name;
  }

  /**
   * Adds a node. `outputs` are value names or, by default, one fresh name per output derived
   * from the op type; pass a number to get that many fresh outputs. Returns the output names.
   */
  node(opType: string, inputs: readonly string[], outputs: readonly string[] | number = 1, attrs: Attrs = {}, domain = ""): string[] {
    for (const v of inputs) {
      if (v !== "" && !this.defined.has(v)) throw new Error(`BUG: graph ${this.name}: ${opType} reads ${v}, which nothing defines`);
    }
    const outs =
      typeof outputs === "number"
        ? Array.from({ length: outputs }, () => this.claim(this.fresh(opType.toLowerCase())))
        : outputs.map((o) => this.claim(o));
    if (domain !== "") this.domains.add(domain);
    this.nodes.push({
      opType,
      ...(domain !== "" ? { domain } : {}),
      name: this.fresh(`${opType}_node`),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /**
   * The value `make` builds, built once per graph for each `key` (e.g. one SpaceToDepth of a
   * tensor, read by two layers' VJPs).
   */
  memo(key: string, make: () => string): string {
    let value = this.memos.get(key);
    if (value === undefined) {
      value = make();
      this.memos.set(key, value);
    }
    return value;
  }

  /** The inputs of the node that made `value` if it is an `opType` node of `domain`, else null. */
  madeBy(value: string, opType: string, domain = ""): string[] | null {
    const producer = this.nodes.find((n) => n.output?.includes(value));
    return producer?.opType === opType && (producer.domain ?? "") === domain ? [...(producer.input ?? [])] : null;
  }

  /**
   * The data input of the Expand node that made `value`, or null if no Expand made it. An
   * elementwise consumer can broadcast that input instead and skip writing the expanded tensor.
   */
  expandedFrom(value: string): string | null {
    return this.madeBy(value, "Expand")?.[0] ?? null;
  }

  /** One-output shorthand for node(). */
  op(opType: string, inputs: readonly string[], attrs: Attrs = {}): string {
    return this.node(opType, inputs, 1, attrs)[0];
  }

  /** One-output node of another operator domain (e.g. NCHWC_DOMAIN). */
  opIn(domain: string, opType: string, inputs: readonly string[], attrs: Attrs = {}): string {
    return this.node(opType, inputs, 1, attrs, domain)[0];
  }

  /** Drops nodes and initializers that no graph output depends on. */
  private live(): { nodes: onnx.INodeProto[]; initializers: onnx.ITensorProto[] } {
    const needed = new Set(this.outputs.map((o) => o.name as string));
    const kept: onnx.INodeProto[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n.output?.some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const v of n.input ?? []) needed.add(v);
    }
    return { nodes: kept.reverse(), initializers: this.initializers.filter((t) => needed.has(t.name as string)) };
  }

  /** Names of the graph inputs some kept node (or an output) reads. */
  liveInputs(): string[] {
    const read = new Set<string>(this.outputs.map((o) => o.name as string));
    for (const n of this.live().nodes) for (const v of n.input ?? []) read.add(v);
    return this.inputs.map((i) => i.name as string).filter((name) => read.has(name));
  }

  /** The model; `metadata` goes into its metadata_props (key and string value each). */
  toModel(metadata: Readonly<Record<string, string>> = {}): onnx.ModelProto {
    const { nodes, initializers } = this.live();
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: OPSET_VERSION }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      producerName: "sideways",
      graph: { name: this.name, node: nodes, input: this.inputs, output: this.outputs, initializer: initializers },
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    });
  }

  /** The serialized model (toModel), in a buffer of its own (encode() alone returns a view into a pool). */
  toBytes(metadata: Readonly<Record<string, string>> = {}): Uint8Array {
    return onnx.ModelProto.encode(this.toModel(metadata)).finish().slice();
  }
}
