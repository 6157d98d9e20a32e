/**
 * A message queue over a worker_threads MessagePort: recv() resolves with the next message in
 * order. Tensor buffers are transferred, not copied (onnxruntime rejects SharedArrayBuffer-backed
 * tensors, so shared memory is not an option; see docs/design/onnxruntime-node.md).
 */
import type { MessagePort } from "node:worker_threads";
import type { Tensor } from "../tensor.js";
import type { Tagged } from "./stage.js";

export class PortQueue<T> {
  private readonly ready: T[] = [];
  private readonly waiting: ((msg: T) => void)[] = [];

  constructor(private readonly port: MessagePort) {
    port.on("message", (msg: T) => {
      const resolve = this.waiting.shift();
      if (resolve) resolve(msg);
      else this.ready.push(msg);
    });
  }

  recv(): Promise<T> {
    const msg = this.ready.shift();
    if (msg !== undefined) return Promise.resolve(msg);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  send(msg: T, transfer: ArrayBuffer[]): void {
    this.port.postMessage(msg, transfer);
  }
}

/** The buffer to transfer for a tensor; copies first when the data is a view into a larger buffer. */
export function transferable(t: Tensor): { tensor: Tensor; buffer: ArrayBuffer } {
  const d = t.data;
  if (d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer) {
    return { tensor: t, buffer: d.buffer };
  }
  const copy = new Float32Array(d);
  return { tensor: { data: copy, dims: t.dims }, buffer: copy.buffer };
}

export function taggedForTransfer(x: Tagged | null): { value: Tagged | null; transfer: ArrayBuffer[] } {
  if (!x) return { value: null, transfer: [] };
  const { tensor, buffer } = transferable(x.tensor);
  return { value: { tensor, frame: x.frame }, transfer: [buffer] };
}
