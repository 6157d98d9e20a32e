/**
 * The one default Python interpreter, for the PyTorch peer benchmark (src/bench/torch-peer-process.ts),
 * the CUDA library search of `sideways gpu install` (src/runtime/cuda-install.ts) and
 * `sideways doctor` (src/cli/commands/doctor.ts): $SIDEWAYS_PYTHON when set, else `python3` on PATH.
 *
 * PATH, not Debian's /usr/bin/python3, because an activated virtual environment (or conda, pyenv)
 * puts its python3 first there, and that is the one a researcher means; where nothing shadows it
 * on Debian/Ubuntu, python3 on PATH is /usr/bin/python3, into which python3-torch installs. The
 * peer had defaulted to /usr/bin/python3 and the CUDA search to python3 on PATH, so `doctor`
 * could report one interpreter's PyTorch and the install search another's nvidia-* packages.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface PythonChoice {
  /** The interpreter: SIDEWAYS_PYTHON as given, python3's absolute path on PATH, or "python3" where PATH has none. */
  python: string;
  /** "SIDEWAYS_PYTHON" when the user named it (then it must run), null for the default (which may be missing). */
  from: "SIDEWAYS_PYTHON" | null;
  /** Where the choice came from, for messages: "SIDEWAYS_PYTHON", "python3 on PATH" or "python3, not found on PATH". */
  source: string;
}

/** The first executable `name` in the folders of `path` ($PATH), or null. */
export function onPath(name: string, path = process.env.PATH ?? ""): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

export function defaultPython(): PythonChoice {
  const env = process.env.SIDEWAYS_PYTHON;
  if (env !== undefined && env !== "") return { python: env, from: "SIDEWAYS_PYTHON", source: "SIDEWAYS_PYTHON" };
  const found = onPath("python3");
  return found !== null ? { python: found, from: null, source: "python3 on PATH" } : { python: "python3", from: null, source: "python3, not found on PATH" };
}
