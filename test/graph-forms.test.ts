/**
 * SIDEWAYS_GRAPH_FORMS (src/runtime/graph-forms.ts): the formulations a GPU provider's graphs are
 * built with, for A/B measurements. Its parser and how graphTargetFor applies it; that each form
 * computes the right gradient is the layer and model gradient tests' job.
 */
import { expect } from "chai";
import { ProviderError } from "../src/errors.js";
import { CUDA_TARGET, WEBGPU_TARGET } from "../src/graph/graph-builder.js";
import { parseGraphForms } from "../src/runtime/graph-forms.js";
import { graphTargetFor } from "../src/runtime/nchwc-probe.js";
import { withEnv } from "./helpers/env.js";

/** Runs `body` with SIDEWAYS_GRAPH_FORMS set to `value` (unset for undefined). */
const withForms = <T>(value: string | undefined, body: () => Promise<T>) => withEnv({ SIDEWAYS_GRAPH_FORMS: value }, body);

describe("SIDEWAYS_GRAPH_FORMS", () => {
  it("parses key=value pairs, spaces and empty items allowed, numbers as numbers", () => {
    expect(parseGraphForms(" convInputGrad=phases , unfoldForwardChannels=1,,")).to.deep.equal({ convInputGrad: "phases", unfoldForwardChannels: 1 });
    expect(parseGraphForms("")).to.deep.equal({});
    expect(parseGraphForms("reluMask=cast,channelSums=direct,convWeightGrad=conv,maxPoolVjp=windows,paramSplit=slices")).to.deep.equal({ reluMask: "cast", channelSums: "direct", convWeightGrad: "conv", maxPoolVjp: "windows", paramSplit: "slices" });
    expect(parseGraphForms("sidewaysClip=split,spaceToDepth=transpose")).to.deep.equal({ sidewaysClip: "split", spaceToDepth: "transpose" });
  });

  it("a bad item, key or value is a ProviderError (exit 2) naming it and what was expected", () => {
    const cases: [string, RegExp][] = [
      ["convInputGrad=sub", /^SIDEWAYS_GRAPH_FORMS: convInputGrad=sub: expected transpose or subpixel or phases$/],
      ["unfoldForwardChannels=-1", /unfoldForwardChannels=-1: expected a whole number >= 0 \(digits\)$/],
      ["unfoldForwardChannels=1.5", /unfoldForwardChannels=1.5: expected a whole number >= 0/],
      ["unfoldForwardChannels=", /unfoldForwardChannels=: expected a whole number >= 0/],
      ["unfoldForwardChannels=0x10", /unfoldForwardChannels=0x10: expected a whole number >= 0/],
      ["unfoldForwardChannels=1e3", /unfoldForwardChannels=1e3: expected a whole number >= 0/],
      ["constructor=x", /: constructor=x: expected one of the keys/],
      ["__proto__=x", /: __proto__=x: expected one of the keys/],
      ["convInputgrad=phases", /: convInputgrad=phases: expected one of the keys maxPoolVjp, .*convInputGrad, unfoldForwardChannels, convRelu, paramSplit, sidewaysClip, spaceToDepth, logSoftmax$/],
      ["nchwcBlock=8", /: nchwcBlock=8: expected one of the keys/],
      ["convInputGrad", /"convInputGrad" is not key=value/],
      ["reluMask=sign,reluMask=cast", /reluMask is given twice/],
    ];
    for (const [text, message] of cases) {
      let err: unknown = null;
      try {
        parseGraphForms(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).to.be.instanceOf(ProviderError);
      expect((err as Error).message, text).to.match(message);
    }
  });

  it("graphTargetFor lays the forms over the CUDA and WebGPU targets; the CPU target ignores them; unset keeps the targets themselves", async () => {
    await withForms(undefined, async () => {
      expect(await graphTargetFor({ provider: "cuda" })).to.equal(CUDA_TARGET);
      expect(await graphTargetFor({ provider: "webgpu" })).to.equal(WEBGPU_TARGET);
    });
    const cpu = await graphTargetFor({ provider: "cpu" });
    await withForms("convInputGrad=phases,unfoldForwardChannels=1", async () => {
      expect(await graphTargetFor({ provider: "cuda" })).to.deep.equal({ ...CUDA_TARGET, convInputGrad: "phases", unfoldForwardChannels: 1 });
      expect(await graphTargetFor({ provider: "webgpu" })).to.deep.equal({ ...WEBGPU_TARGET, convInputGrad: "phases", unfoldForwardChannels: 1 });
      expect(await graphTargetFor({ provider: "cpu" })).to.deep.equal(cpu);
    });
    await withForms("convWeightGrad=conv", async () => {
      const err = await graphTargetFor({ provider: "webgpu" }).then(() => null, (e: unknown) => e);
      expect(err, "the dilated-Conv weight gradient on WebGPU").to.be.instanceOf(ProviderError);
      expect((err as Error).message).to.match(/convWeightGrad=conv cannot run on webgpu: .*batch rows/);
      expect((await graphTargetFor({ provider: "cuda" })).convWeightGrad).to.equal("conv");
    });
    await withForms("reluMask=cats", async () => {
      const err = await graphTargetFor({ provider: "cuda" }).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(ProviderError);
    });
  });
});
