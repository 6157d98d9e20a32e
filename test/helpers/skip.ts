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
