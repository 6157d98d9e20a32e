/**
 * YAML text of configs that users read back (a run's config.yaml, `validate --print`), with
 * floats written so that YAML 1.1 readers take them as numbers too. PyYAML, what most
 * researchers load these files with, resolves a float only with a '.' in its mantissa and a
 * sign on its exponent: the `yaml` package writes 1e-8 (JavaScript's form), which PyYAML reads
 * as the string '1e-8'. Written here as 1.0e-8; YAML 1.2 readers read both forms alike, so
 * `sideways run` on the file trains the same run.
 */
import { Document, stringify, type ScalarTag } from "yaml";

/** `x` as a YAML 1.1 float: a '.' in the mantissa, a signed exponent; .nan, .inf and -.inf. */
export function yaml11Float(x: number): string {
  if (Number.isNaN(x)) return ".nan";
  if (!Number.isFinite(x)) return x < 0 ? "-.inf" : ".inf";
  const text = String(x);
  const e = text.indexOf("e");
  if (e < 0) return text.includes(".") ? text : `${text}.0`;
  const mantissa = text.slice(0, e);
  const exponent = text.slice(e + 1);
  return `${mantissa.includes(".") ? mantissa : `${mantissa}.0`}e${/^[-+]/.test(exponent) ? exponent : `+${exponent}`}`;
}

/** Numbers that are not plain integers (fractions, and integers JavaScript writes with an exponent). */
const PY_FLOAT: ScalarTag = {
  identify: (v) => typeof v === "number" && (!Number.isInteger(v) || /e/.test(String(v))),
  default: true,
  tag: "tag:yaml.org,2002:float",
  // Only for writing: reading resolves floats with the schema's own tags.
  test: /^(?!)$/,
  resolve: (text) => parseFloat(text),
  stringify: ({ value }) => yaml11Float(Number(value)),
};

export function yamlText(value: unknown): string {
  return stringify(value, { customTags: (tags) => [PY_FLOAT, ...tags] });
}

/** The document yamlText writes, for a caller that adds comments to it before writing it. */
export function yamlDocument(value: unknown): Document {
  return new Document(value, { customTags: (tags) => [PY_FLOAT, ...tags] });
}
