/**
 * Skips the running test or hook with its reason printed in mocha's output (a skip is never
 * silent).
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  console.log(`      skipped: ${reason}`);
  ctx.skip();
}

/** The reason every NCHWc-only check gives where onnxruntime's NCHWc kernels are missing. */
export const NO_NCHWC = "this CPU has no NCHWc kernels (onnxruntime uses them with AVX2 or AVX-512), or SIDEWAYS_NCHWC=0";

/** What a PyTorch check says beside torchUnavailableReason's reason when it skips. */
export const NEEDS_TORCH =
  "this check needs PyTorch, NumPy and PyYAML for SIDEWAYS_PYTHON, else python3 on PATH (src/runtime/python.ts); " +
  "CI installs python3-torch python3-numpy python3-yaml into /usr/bin/python3 (.ci/system/30-torch.sh) and sets SIDEWAYS_PYTHON to it (.ci/run)";
