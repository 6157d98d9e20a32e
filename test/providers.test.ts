/** Provider options per depth-parallel stage, and runtime.device_id as a GPU or a list of GPUs. */
import { expect } from "chai";
import { stageProvider } from "../src/runtime/providers.js";
import { RuntimeSpec } from "../src/spec/experiment-spec.js";

describe("providers: devices per stage", () => {
  it("a device list places stage s on device_id[s mod n]; without one every stage keeps deviceId", () => {
    const opts = { provider: "cuda" as const, deviceId: 2, stageDeviceIds: [2, 0, 1] };
    expect([0, 1, 2, 3, 4].map((s) => stageProvider(opts, s).deviceId)).to.deep.equal([2, 0, 1, 2, 0]);
    expect(stageProvider({ provider: "cuda", deviceId: 3 }, 5).deviceId).to.equal(3);
  });

  it("runtime.device_id takes a GPU index or a non-empty list of them", () => {
    expect(RuntimeSpec.parse({ device_id: 1 }).device_id).to.equal(1);
    expect(RuntimeSpec.parse({ device_id: [0, 1] }).device_id).to.deep.equal([0, 1]);
    expect(RuntimeSpec.safeParse({ device_id: [] }).success).to.equal(false);
    expect(RuntimeSpec.safeParse({ device_id: [-1] }).success).to.equal(false);
  });
});
