/**
 * The table as a grid a person can read (as torch.distributed.pipelining's
 * _format_pipeline_order does for its per-rank lists): one row per tick, one column per block,
 * 1-based like docs/design/sideways.md. A cell lists what the block does at that tick:
 *   F3      forward of frame 3
 *   B3      backward of frame 3 (input and gradient from frame 3: exact)
 *   B5<1    backward on the input of frame 5 with the gradient of frame 1's loss (Sideways)
 *   @2      (with in-clip updates) the weights the action reads have had 2 steps in this clip batch
 *   L       the loss (top block)
 *   .       idle
 * With in-clip updates a dashed line marked "update" follows each tick after which blocks step.
 */
import type { Schedule } from "./action.js";
import { updatesAfter, withWeightVersions, type UpdateEvery } from "./analysis.js";

export function formatGrid(s: Schedule, every: UpdateEvery = "clip", stashing = false): string {
  const cells = Array.from({ length: s.ticks }, () => Array.from({ length: s.blocks }, () => [] as string[]));
  const showVersions = every !== "clip";
  for (const a of withWeightVersions(s, every, stashing)) {
    const v = showVersions ? `@${a.version}` : "";
    const text = a.op === "forward" ? `F${a.frame + 1}${v}` : a.op === "loss" ? "L" : `B${a.frame + 1}${a.gradFrame !== a.frame ? `<${a.gradFrame! + 1}` : ""}${v}`;
    cells[a.tick][a.block].push(text);
  }
  const header = ["tick", ...Array.from({ length: s.blocks }, (_, k) => `block ${k + 1}`)];
  const rows = cells.map((row, t) => [String(t + 1), ...row.map((c) => (c.length ? c.join(" ") : "."))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = [line(header)];
  rows.forEach((r, t) => {
    out.push(line(r));
    if (showVersions && updatesAfter(t, s.ticks, every)) out.push(widths.map((w) => "-".repeat(w)).join("  ") + "  update");
  });
  return out.join("\n") + "\n";
}
