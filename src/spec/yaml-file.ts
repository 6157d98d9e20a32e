/**
 * Reading user YAML files safely: duplicate keys are errors, alias expansion is capped (a "billion
 * laughs" file fails fast instead of exhausting memory), and every error names the file and line.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { SpecError } from "../errors.js";
import { packageRoot } from "../util/package-root.js";

/** Aliases a document may expand; real experiment files use a handful at most. */
export const MAX_ALIAS_COUNT = 100;
/** Experiment and model files are small; anything bigger is a mistake (or an attack). */
export const MAX_YAML_BYTES = 1 << 20;

export function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos ? `:${e.linePos[0].line}:${e.linePos[0].col}` : "";
    throw new SpecError(`${file}${where}: YAML syntax error: ${firstLine(e.message)}`, file);
  }
  if (doc.contents === null) throw new SpecError(`${file}: the file is empty (expected a YAML mapping of keys)`, file);
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new SpecError(`${file}: YAML aliases expand too much (more than ${MAX_ALIAS_COUNT}): ${(err as Error).message}`, file);
  }
}

export function readYamlFile(file: string, what: string): unknown {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new SpecError(`${what} ${file} is not a file`, file);
    size = st.size;
  } catch (err) {
    if (err instanceof SpecError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError(`${what} ${file} does not exist or cannot be read (${code}${code === "ENOENT" ? whereRelative(file) : ""})`, file);
  }
  if (size > MAX_YAML_BYTES) throw new SpecError(`${what} ${file} is ${size} bytes; expected a YAML file under ${MAX_YAML_BYTES} bytes`, file);
  return parseYaml(readFileSync(file, "utf8"), file);
}

/**
 * For a relative path not found: where it was looked for, and the file of that name sideways ships
 * (its experiments/ and models/), which a user running from another folder, or with sideways
 * installed from npm, most likely meant.
 */
function whereRelative(file: string): string {
  if (isAbsolute(file)) return "";
  const root = packageRoot();
  const shipped = root === null ? null : join(root, file);
  const ours = shipped !== null && existsSync(shipped) ? `; sideways' own is ${shipped}` : "";
  return `; looked for ${resolve(file)}: a relative path is from the current folder${ours}`;
}

function firstLine(s: string): string {
  return s.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}
