/**
 * Which `key=value` (or `~key`) overrides set a key, so that a message about the key names them beside the
 * experiment file instead of blaming the file for a value it does not hold:
 *   exp.yaml with override 'data.clip_length=3': data.clip_length: ...
 */

/** The dotted key an override text sets or removes ("train.optimizer.lr=0.1", "~data.eval_clips"). */
export function overrideKey(text: string): string {
  return text.startsWith("~") ? text.slice(1) : text.slice(0, Math.max(0, text.indexOf("=")));
}

/** Whether setting `key` decides `path`: the same key or one above it, or a kind whose section holds it. */
export function keyDecides(key: string, path: string): boolean {
  if (key === path || path.startsWith(`${key}.`)) return true; // the issue is in what it set
  // A kind (`data.kind`, `train.optimizer.kind`) decides which keys its whole section may have.
  const section = key.endsWith(".kind") ? key.slice(0, -".kind".length) : null;
  return section !== null && (path === section || path.startsWith(`${section}.`));
}

/** The overrides that set `path` or a key above it, or whose section kind decides its keys. */
export function overridesAbout(path: string, overrides: readonly string[]): string[] {
  return overrides.filter((text) => keyDecides(overrideKey(text), path));
}

/** `context` (which run of a sweep) where setting one of its swept `keys` decides `path`, else undefined. */
export function sweptContext(path: string | undefined, keys: readonly string[], context: string | undefined): string | undefined {
  return context !== undefined && path !== undefined && keys.some((k) => keyDecides(k, path)) ? context : undefined;
}

/** `file`, and the overrides about `path` (or any of several paths) where there are any: the source a message about them names. */
export function settingSource(file: string, overrides: readonly string[], path: string | readonly string[] | undefined): string {
  const paths = path === undefined ? [] : typeof path === "string" ? [path] : path;
  const by = overrides.filter((text) => paths.some((p) => keyDecides(overrideKey(text), p)));
  return `${file}${by.length > 0 ? ` with ${by.map((o) => `override '${o}'`).join(", ")}` : ""}`;
}
