/**
 * The table as a grid a person can read (as torch.distributed.pipelining's
 * _format_pipeline_order does for its per-rank lists): one row per tick, one column per block.
 * Ticks, blocks and frames count from 0, as the table itself, `sideways model summary` and the
 * _b<k> columns of metrics.csv do, so that no view mixes two conventions (docs/design/sideways.md
 * states its rules 1-based, as the paper does: its k, t and frame are these plus one).
 * A cell lists what the block does at that tick:
 *   F3      forward of frame 3
 *   B3      backward of frame 3 (input and gradient from frame 3: exact)
 *   B4<0    backward on the input of frame 4 with the gradient of frame 0's loss (Sideways)
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
    const text = a.op === "forward" ? `F${a.frame}${v}` : a.op === "loss" ? "L" : `B${a.frame}${a.gradFrame !== a.frame ? `<${a.gradFrame!}` : ""}${v}`;
    cells[a.tick][a.block].push(text);
  }
  const header = ["tick", ...Array.from({ length: s.blocks }, (_, k) => `block ${k}`)];
  const rows = cells.map((row, t) => [String(t), ...row.map((c) => (c.length ? c.join(" ") : "."))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = [line(header)];
  rows.forEach((r, t) => {
    out.push(line(r));
    if (showVersions && updatesAfter(t, s.ticks, every)) out.push(widths.map((w) => "-".repeat(w)).join("  ") + "  update");
  });
  return out.join("\n") + "\n";
}
