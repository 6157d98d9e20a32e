/**
 * A readable text dump of a serialized ONNX model: inputs, outputs, initializers (shape only)
 * and nodes with their attributes, one per line. For tests and debugging.
 */
import { onnx } from "./onnx.js";

function dimsText(t: onnx.ITypeProto | null | undefined): string {
  const dims = t?.tensorType?.shape?.dim ?? [];
  return `[${dims.map((d) => (d.dimParam ? d.dimParam : String(d.dimValue))).join(",")}]`;
}

function attrText(a: onnx.IAttributeProto): string {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return `${a.name}=${Number(a.i)}`;
    case T.FLOAT:
      return `${a.name}=${a.f}`;
    case T.STRING:
      return `${a.name}=${new TextDecoder().decode(a.s ?? new Uint8Array())}`;
    case T.INTS:
      return `${a.name}=[${(a.ints ?? []).map(Number).join(",")}]`;
    case T.TENSOR:
      return `${a.name}=tensor[${(a.t?.dims ?? []).map(Number).join(",")}]`;
    default:
      return `${a.name}=<type ${a.type}>`;
  }
}

export function dumpGraph(bytes: Uint8Array): string {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph as onnx.GraphProto;
  if (!g) throw new Error("BUG: ONNX model has no graph");
  const opsets = model.opsetImport.map((o) => `${o.domain || "ai.onnx"}:${Number(o.version)}`).join(",");
  const lines = [`graph ${g.name} (ir ${Number(model.irVersion)}, opset ${opsets})`];
  for (const v of g.input) lines.push(`input ${v.name} ${dimsText(v.type)}`);
  for (const v of g.output) lines.push(`output ${v.name} ${dimsText(v.type)}`);
  for (const t of g.initializer) lines.push(`const ${t.name} [${(t.dims ?? []).map(Number).join(",")}]`);
  for (const n of g.node as onnx.NodeProto[]) {
    const attrs = n.attribute.map(attrText).join(" ");
    lines.push(`${n.output.join(", ")} = ${n.opType}(${n.input.join(", ")})${attrs ? " " + attrs : ""}`);
  }
  return lines.join("\n") + "\n";
}
