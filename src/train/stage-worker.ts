/**
 * Worker-thread entry of the parallel executors: owns the sessions of one stage's blocks and runs
 * that stage for each clip batch the main thread sends. In the depth-parallel executor it
 * exchanges boundary activations and gradients directly with the neighbouring stages' workers
 * over MessagePorts; as a data-parallel replica it holds every block and has no neighbours.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { Model, Weights } from "../model/model.js";
import type { ProviderOptions } from "../runtime/providers.js";
import { BlockRunner, type BlockGraphBytes } from "./block-runner.js";
import { PortQueue, taggedForTransfer } from "./port-link.js";
import { runStage } from "./run-stage.js";
import { stageSpec } from "./sequential-executor.js";
import { stageBlocksText } from "./stage-plan.js";
import type { DownMessage, StageBatch, StageLinks, StageResult, UpMessage } from "./stage.js";

export interface StageWorkerData {
  /** Names this worker in errors: "stage 1", "replica 0". */
  label: string;
  model: Model;
  blocks: number[];
  /** Graphs indexed by block; only this stage's entries are set. */
  graphs: (BlockGraphBytes | null)[];
  provider: ProviderOptions;
  below: MessagePort | null;
  above: MessagePort | null;
}

/**
 * "stop": exit now. The message is handled between onnxruntime calls (a run blocks this thread),
 * which is the only safe moment: terminating a worker from outside while its native run is in
 * flight can abort the whole process.
 */
export type ToWorker = { type: "batch"; id: number; batch: StageBatch; weights: Weights } | { type: "stop" };
export type FromWorker =
  | { type: "ready" }
  | { type: "result"; id: number; result: StageResult }
  | { type: "error"; message: string };

const data = workerData as StageWorkerData;
const port = parentPort!;

/** Time this stage spent awaiting its neighbours' messages and handing its own over, since the batch began (milliseconds). */
const linkTime = { wait: 0, send: 0 };

function makeLinks(): StageLinks {
  const below = data.below ? new PortQueue<UpMessage | DownMessage>(data.below) : null;
  const above = data.above ? new PortQueue<UpMessage | DownMessage>(data.above) : null;
  const recv = async <M>(queue: PortQueue<UpMessage | DownMessage>): Promise<M> => {
    const t0 = performance.now();
    const msg = await queue.recv();
    linkTime.wait += performance.now() - t0;
    return msg as M;
  };
  const send = (queue: PortQueue<UpMessage | DownMessage>, msg: UpMessage | DownMessage, transfer: ArrayBuffer[]) => {
    const t0 = performance.now();
    queue.send(msg, transfer);
    linkTime.send += performance.now() - t0;
  };
  return {
    below: below && {
      recv: () => recv<UpMessage>(below),
      send: (msg: DownMessage) => {
        const { value, transfer } = taggedForTransfer(msg.grad);
        send(below, { tick: msg.tick, grad: value }, transfer);
      },
    },
    above: above && {
      recv: () => recv<DownMessage>(above),
      send: (msg: UpMessage) => {
        const { value, transfer } = taggedForTransfer(msg.act);
        send(above, { tick: msg.tick, act: value }, transfer);
      },
    },
  };
}

function describe(err: unknown): string {
  const where = `${data.label} (${stageBlocksText(data.blocks)})`;
  return `${where}: ${err instanceof Error ? err.message : String(err)}`;
}

async function setUp(): Promise<{ runner: BlockRunner; links: StageLinks; spec: ReturnType<typeof stageSpec> }> {
  const graphs = data.graphs.map((g) => g ?? { forward: new Uint8Array(), backward: new Uint8Array() });
  const runner = await BlockRunner.create(data.model, data.blocks, graphs, data.provider);
  return { runner, links: makeLinks(), spec: stageSpec(data.model, data.blocks) };
}

const hasNeighbours = () => data.below !== null || data.above !== null;

// Listening from the start, so that "stop" is honoured even while (or after) set-up fails.
const ready = setUp();
port.on("message", (msg: ToWorker) => {
  if (msg.type === "stop") {
    process.exit(0);
  }
  ready
    .then(({ runner, links, spec }) => {
      const ctx = { spec, runner, links, weights: msg.weights };
      linkTime.wait = linkTime.send = 0;
      return runStage(ctx, msg.batch);
    })
    .then((result) => (hasNeighbours() ? { ...result, waitSeconds: linkTime.wait / 1000, sendSeconds: linkTime.send / 1000 } : result))
    .then(
      // The gradient sums are not read here again: move their buffers instead of copying them.
      (result) => port.postMessage({ type: "result", id: msg.id, result } satisfies FromWorker, [...result.gradSums.values()].map((a) => a.buffer as ArrayBuffer)),
      (err) => port.postMessage({ type: "error", message: describe(err) } satisfies FromWorker),
    );
});
ready.then(
  () => port.postMessage({ type: "ready" } satisfies FromWorker),
  (err) => port.postMessage({ type: "error", message: describe(err) } satisfies FromWorker),
);
