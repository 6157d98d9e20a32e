import { experimentFoldersIn } from "../results/runs-table.js";

/**
 * Where a command that reads one experiment's results was given the folder above them
 * (`results` rather than `results/<experiment>`): "; it holds experiment folders: ..." with the
 * command to run on the first (`command`, the folder, then `after`: `results collect` merges the
 * shard folders given after it), or "" where it holds none.
 */
export function experimentFoldersHint(dir: string, given: string, command: string, after: readonly string[] = []): string {
  const inside = experimentFoldersIn(dir, given);
  return inside.length > 0 ? `; it holds experiment folders: ${inside.join(", ")} (sideways ${[command, inside[0], ...after].join(" ")})` : "";
}
