/**
 * How the code and runtime training a run now differ from those of an earlier attempt of it, as
 * run-meta.json's provenance records them. A run's id hashes its config, not the code: the same
 * config trained at another commit, onnxruntime build or CPU is the same run by id, and often the
 * same weights bit for bit (docs/RESULTS.md's reruns), but nothing promises it (README.md,
 * "Re-runnable configs": the same machine and onnxruntime version). So a re-run of a run folder's
 * config.yaml, and a resumed run, say where the code differs rather than leaving a reader to find
 * that the numbers moved.
 */
import type { Provenance } from "./provenance.js";

const shortCommit = (commit: string) => commit.slice(0, 7);

/**
 * Each difference between `earlier` and `now` that can change a run's numbers, as "<what> <then>
 * then, <now> now" phrases; none when both ran the same committed code on the same runtime and CPU
 * model. Unknowns (no git checkout, no build loaded yet, an older run-meta.json) are not
 * differences. The host, Node and OS are not compared: they do not round floats.
 */
export function codeChanges(earlier: Partial<Provenance>, now: Partial<Provenance>): string[] {
  const changes: string[] = [];
  const differ = <T>(a: T | null | undefined, b: T | null | undefined) => a != null && b != null && a !== b;
  if (differ(earlier.git_commit, now.git_commit)) changes.push(`commit ${shortCommit(earlier.git_commit!)} then, ${shortCommit(now.git_commit!)} now`);
  // Uncommitted changes make the commit no name for the code: the same commit may be other code.
  const dirty = [earlier.git_dirty === true ? "then" : null, now.git_dirty === true ? "now" : null].filter((w) => w !== null);
  if (dirty.length > 0) changes.push(`uncommitted changes to the code ${dirty.join(" and ")}`);
  if (differ(earlier.sideways_version, now.sideways_version)) changes.push(`sideways ${earlier.sideways_version} then, ${now.sideways_version} now`);
  const ort = (p: Partial<Provenance>) => (p.onnxruntime_node == null ? null : `${p.onnxruntime_node}${p.onnxruntime_build === "bundled" || p.onnxruntime_build == null ? "" : ` (${p.onnxruntime_build})`}`);
  if (differ(ort(earlier), ort(now))) changes.push(`onnxruntime-node ${ort(earlier)} then, ${ort(now)} now`);
  if (differ(earlier.cpu, now.cpu)) changes.push(`CPU ${earlier.cpu} then, ${now.cpu} now`);
  return changes;
}
