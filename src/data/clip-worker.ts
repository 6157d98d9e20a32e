/**
 * Worker-thread entry of `data.workers` (src/data/clip-workers.ts): builds the spec's clip producer
 * in this thread and answers each request with one buffer (transferred): a share of clips, or a
 * whole training batch assembled here as the step's thread would (src/data/clip.ts assembleBatch).
 */
import { parentPort, workerData } from "node:worker_threads";
import { assembleBatch, clipOf, type ClipProducer, type ClipStream } from "./clip.js";
import type { ClipWorkerData, FromClipWorker, ToClipWorker } from "./clip-workers.js";
import { clipPlan, createLocalProducer } from "./create-source.js";

const port = parentPort!;
const { spec, ctx } = workerData as ClipWorkerData;
const post = (msg: FromClipWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

let producer: ClipProducer;
let plan: ReturnType<typeof clipPlan>;
try {
  producer = await createLocalProducer(spec, ctx);
  plan = clipPlan(spec, ctx);
  post({ type: "ready" });
} catch (err) {
  post({ type: "error", id: null, message: message(err) });
  process.exit(0);
}

/**
 * Buffers handed back (ClipWorkers.recycle), to be filled again: a share's as soon as the step's
 * thread has assembled its batch, a whole batch's when the trainer releases it after its step.
 * Requests outnumber what comes back (a batch is asked for before an earlier one is released),
 * so spares do not pile up; the cap bounds buffers of sizes no request takes (the last, smaller
 * evaluation batch's).
 */
const spare: ArrayBuffer[] = [];
const SPARE_MAX = 8;

const { shape, pre } = plan;
const clipSize = shape.frames * shape.channels * shape.height * shape.width;

/** A spare buffer of `bytes` bytes, or null. */
function takeSpare(bytes: number): Uint8Array | null {
  const i = spare.findIndex((b) => b.byteLength === bytes);
  return i >= 0 ? new Uint8Array(spare.splice(i, 1)[0]!) : null;
}

function clipsOf(stream: ClipStream, first: number, count: number, evalTotal: number) {
  // Workers serve the generated kinds only (createDataSource checkDataWorkers), whose clips are 8-bit.
  if (!producer.uint8Pixels) throw new Error("BUG: a data worker for clips that are not 8-bit");
  return Promise.all(Array.from({ length: count }, (_, i) => clipOf(producer, stream, first + i, evalTotal)));
}

port.on("message", async (req: ToClipWorker) => {
  if (req.type === "recycle") {
    if (spare.length < SPARE_MAX) spare.push(req.buffer);
    return;
  }
  try {
    if (req.type === "batch") {
      const clips = await clipsOf("train", req.first, req.count, 0);
      const reuse = takeSpare(req.count * clipSize);
      const { pixels, labels } = assembleBatch(clips, shape, pre, "train", req.first, reuse ?? undefined);
      post({ type: "batch", id: req.id, pixels: pixels!.data, labels, reused: reuse !== null }, [pixels!.data.buffer as ArrayBuffer, labels.buffer as ArrayBuffer]);
      return;
    }
    const clips = await clipsOf(req.stream, req.first, req.count, req.evalTotal);
    const reuse = takeSpare(req.count * clipSize);
    const pixels = reuse ?? new Uint8Array(req.count * clipSize);
    clips.forEach((c, i) => pixels.set(c.pixels, i * clipSize));
    post({ type: "clips", id: req.id, pixels, labels: clips.map((c) => c.label), reused: reuse !== null }, [pixels.buffer as ArrayBuffer]);
  } catch (err) {
    post({ type: "error", id: req.id, message: message(err) });
  }
});
