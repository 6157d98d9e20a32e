/**
 * The class names a data source fixes by itself, read off its spec without its data files: what
 * `export` falls back on where no run's summary.json recorded them (an interrupted run, an
 * experiment's train.init_checkpoint, a run folder of an older version). The sources name their
 * labels when they make clips (moving-mnist.ts, shapes.ts: ClipProducer.classNames, which
 * `sideways data` writes as classes.txt), from the same DIGIT_CLASS_NAMES and shapeClassNames used here.
 */
import { DataError } from "../errors.js";
import type { DataSpec } from "./data-spec.js";
import { readClassNames } from "./class-names.js";
import { DIGIT_CLASS_NAMES } from "./moving-mnist.js";
import { SHAPE_KINDS, shapeClassNames } from "./shapes.js";

/** The names by label, with where they come from; or, where the spec cannot say, why not. */
export type SpecClassNames = { names: string[]; from: string } | { names: null; why: string };

/** `resolvePath` resolves a data path as the experiment does (npy's data.class_names file). */
export function specClassNames(data: DataSpec, classes: number, resolvePath: (p: string) => string): SpecClassNames {
  switch (data.kind) {
    case "moving-mnist": {
      if (data.task === "direction") {
        const degrees = +(360 / data.directions).toFixed(2);
        return { names: null, why: `moving-mnist task direction's labels are unnamed direction buckets: label b is motion at about b x ${degrees} degrees (x right, y down)` };
      }
      if (classes !== 10) return { names: null, why: `moving-mnist task digit has 10 classes (the digits), the model ${classes}` };
      return { names: [...DIGIT_CLASS_NAMES], from: "moving-mnist task digit: label d is the digit d" };
    }
    case "shapes":
      if (classes < 2 || classes > SHAPE_KINDS.length) return { names: null, why: `the shapes source has 2 to ${SHAPE_KINDS.length} classes, the model ${classes}` };
      return { names: shapeClassNames(classes), from: `shapes: its first ${classes} shape kinds, in order` };
    case "npy": {
      if (data.class_names === undefined) return { names: null, why: "npy data's labels are numbers: labels.npy names no classes, and data.class_names is not set" };
      // The names file is small and no clip is read; a names file that moved or no longer fits is
      // why there are no names, not a reason to refuse the export of the weights.
      try {
        return { names: readClassNames(data.class_names, classes, resolvePath), from: typeof data.class_names === "string" ? `data.class_names (${resolvePath(data.class_names)})` : "data.class_names" };
      } catch (e) {
        if (e instanceof DataError) return { names: null, why: `data.class_names could not be read: ${e.message}` };
        throw e;
      }
    }
    case "video-folder":
      // Its folders (or classInd.txt) name them: data files, which export does not read.
      return { names: null, why: "video-folder data names its classes by data.root's folders (or classInd.txt), which export does not read" };
  }
}
