/**
 * Worker-thread entry of `data.workers` (src/data/clip-workers.ts): builds the spec's clip producer
 * in this thread and answers each request with its clips' pixels in one buffer (transferred).
 */
import { parentPort, workerData } from "node:worker_threads";
import { clipOf, type ClipProducer } from "./clip.js";
import type { ClipWorkerData, FromClipWorker, ToClipWorker } from "./clip-workers.js";
import { createLocalProducer } from "./create-source.js";

const port = parentPort!;
const { spec, ctx } = workerData as ClipWorkerData;
const post = (msg: FromClipWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

let producer: ClipProducer;
try {
  producer = await createLocalProducer(spec, ctx);
  post({ type: "ready" });
} catch (err) {
  post({ type: "error", id: null, message: message(err) });
  process.exit(0);
}

/**
 * Buffers handed back (ClipWorkers.recycle), to be filled again. A share's buffer comes back as
 * soon as its batch is assembled, before the request for a batch made later (a port delivers in
 * order), so a few suffice; more would hold memory no request takes (the last, smaller
 * evaluation batch's may sit here a while).
 */
const spare: ArrayBuffer[] = [];
const SPARE_MAX = 8;

port.on("message", async (req: ToClipWorker) => {
  if (req.type === "recycle") {
    if (spare.length < SPARE_MAX) spare.push(req.buffer);
    return;
  }
  try {
    const clips = await Promise.all(Array.from({ length: req.count }, (_, i) => clipOf(producer, req.stream, req.first + i, req.evalTotal)));
    // Workers serve the generated kinds only (createDataSource checkDataWorkers), whose clips are 8-bit.
    if (!producer.uint8Pixels) throw new Error("BUG: a data worker for clips that are not 8-bit");
    const size = clips[0]!.pixels.length;
    const bytes = size * clips.length;
    const reused = spare.findIndex((b) => b.byteLength === bytes);
    const pixels = reused >= 0 ? new Uint8Array(spare.splice(reused, 1)[0]!) : new Uint8Array(bytes);
    clips.forEach((c, i) => pixels.set(c.pixels, i * size));
    post({ type: "clips", id: req.id, pixels, labels: clips.map((c) => c.label), reused: reused >= 0 }, [pixels.buffer as ArrayBuffer]);
  } catch (err) {
    post({ type: "error", id: req.id, message: message(err) });
  }
});
