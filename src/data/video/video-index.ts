/**
 * Which videos a video-folder source trains and evaluates on, with their classes.
 *
 * Layout: `root/<class name>/<video>` (UCF101, HMDB51). Classes are numbered by sorted folder
 * name, except with UCF101 split files beside a classInd.txt ("1 ApplyEyeMakeup"), whose
 * numbering is used. Without split files, the last `eval_fraction` of each class's videos (by
 * name, rounded down, at least one kept for training) is held out; if that holds out nothing,
 * evaluation uses the training videos (video-folder.ts allows that only for eval_fraction: 0). Split files:
 * - ucf101: trainlist0N.txt ("Class/v_x.avi 1") and testlist0N.txt ("Class/v_x.avi").
 * - hmdb51: <class>_test_splitN.txt per class ("video.avi 1": 1 = train, 2 = test, 0 = unused).
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { DataError } from "../../errors.js";
import type { VideoFolderDataSpec } from "../data-spec.js";

export interface LabelledVideo {
  file: string;
  label: number;
}

export interface VideoIndex {
  classNames: string[];
  train: LabelledVideo[];
  /** Interleaved by class (one video of each class in turn), so a prefix covers all classes. */
  eval: LabelledVideo[];
  /** True when evaluation reuses the training videos (nothing held out). */
  evalIsTrain: boolean;
}

export async function indexVideos(
  spec: VideoFolderDataSpec,
  root: string,
  splitDir: string | null,
): Promise<VideoIndex> {
  const folders = await classFolders(root);
  const extensions = new Set(spec.extensions.map((e) => e.toLowerCase()));
  let index: VideoIndex;
  if (spec.split === null || splitDir === null) {
    index = await heldOutSplit(root, folders, extensions, spec.eval_fraction);
  } else if (spec.split.format === "ucf101") {
    index = await ucf101Split(root, folders, splitDir, spec.split.index);
  } else {
    index = await hmdb51Split(root, folders, splitDir, spec.split.index);
  }
  if (index.train.length === 0) {
    throw new DataError(`${root} (data.root): no training videos found (extensions ${spec.extensions.join(", ")})`, root, "data.root");
  }
  rejectClassesWithoutVideos(index, root, spec);
  if (spec.split !== null) rejectMissingListedVideos(index, root, spec);
  return { ...index, eval: interleaveByClass(index.eval) };
}

/**
 * Split files name videos by path under data.root; a wrong root (or a partial copy of the
 * dataset) would otherwise pass every check and fail only when the run first decodes them. With
 * skip_bad_files some may be missing (skipped as unreadable, and listed), not all.
 */
function rejectMissingListedVideos(index: VideoIndex, root: string, spec: VideoFolderDataSpec): void {
  const listed = [...index.train, ...index.eval];
  const missing = listed.filter((v) => !existsSync(v.file));
  if (missing.length === 0 || (spec.skip_bad_files && missing.length < listed.length)) return;
  const some = missing.slice(0, 3).map((v) => v.file).join(", ") + (missing.length > 3 ? ", ..." : "");
  throw new DataError(
    `${root} (data.root): ${missing.length} of the ${listed.length} videos the ${spec.split!.format} split lists do not exist (${some}); ` +
      (missing.length === listed.length ? "is data.root the folder that holds the class folders?" : "copy them in, or set data.skip_bad_files: true to train without them"),
    root, "data.root",
  );
}

/**
 * A class with no training video cannot be learnt, and counting it silently changes the number
 * of classes and the label of every class sorted after it: an error naming its folder.
 */
function rejectClassesWithoutVideos(index: VideoIndex, root: string, spec: VideoFolderDataSpec): void {
  const counts = new Array<number>(index.classNames.length).fill(0);
  for (const v of index.train) counts[v.label]++;
  const empty = index.classNames.filter((_, label) => counts[label] === 0);
  if (empty.length === 0) return;
  const folders = empty.slice(0, 5).map((name) => join(root, name)).join(", ") + (empty.length > 5 ? `, ... (${empty.length} in all)` : "");
  const what = spec.split === null
    ? `no videos (extensions ${spec.extensions.join(", ")})`
    : `no training videos in the ${spec.split.format} split ${spec.split.index}`;
  throw new DataError(
    `${root} (data.root): class folder${empty.length === 1 ? "" : "s"} with ${what}: ${folders}; a class without videos cannot be learnt ` +
      "and would change the number of classes and the labels: add videos or remove the folder",
    join(root, empty[0]), "data.root",
  );
}

async function classFolders(root: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new DataError(`${root} (data.root): cannot list the class folders: ${(err as Error).message}`, root, "data.root");
  }
  // A class folder may be a symbolic link (a subset of UCF101 assembled with `ln -s`): a Dirent
  // says only that it is a link, so ask what it points at; a dangling link is not a folder.
  const isFolder = async (e: (typeof entries)[number]): Promise<boolean> =>
    e.isDirectory() || (e.isSymbolicLink() && (await stat(join(root, e.name)).then((s) => s.isDirectory(), () => false)));
  const visible = entries.filter((e) => !e.name.startsWith("."));
  const flags = await Promise.all(visible.map(isFolder));
  const folders = visible.filter((_, i) => flags[i]).map((e) => e.name).sort();
  if (folders.length === 0) {
    throw new DataError(`${root} (data.root): expected one folder per class, found none`, root, "data.root");
  }
  return folders;
}

async function heldOutSplit(root: string, classNames: string[], extensions: Set<string>, fraction: number): Promise<VideoIndex> {
  const train: LabelledVideo[] = [];
  const evalSet: LabelledVideo[] = [];
  for (const [label, name] of classNames.entries()) {
    const files = (await readdir(join(root, name)))
      .filter((f) => !f.startsWith(".") && extensions.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => ({ file: join(root, name, f), label }));
    const held = Math.min(Math.floor(files.length * fraction), Math.max(files.length - 1, 0));
    train.push(...files.slice(0, files.length - held));
    evalSet.push(...files.slice(files.length - held));
  }
  const evalIsTrain = evalSet.length === 0;
  return { classNames, train, eval: evalIsTrain ? train : evalSet, evalIsTrain };
}

async function readLines(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new DataError(`${file} (data.split): cannot read the split file: ${(err as Error).message}`, file, "data.split");
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

async function ucf101Split(root: string, folders: string[], dir: string, n: number): Promise<VideoIndex> {
  await requireSplitFiles(dir, "ucf101", n);
  const classInd = join(dir, "classInd.txt");
  const classNames = existsSync(classInd) ? await readClassInd(classInd) : folders;
  const labelOf = new Map(classNames.map((name, i) => [name, i]));
  const read = async (listName: string): Promise<LabelledVideo[]> => {
    const listFile = join(dir, listName);
    return (await readLines(listFile)).map((line) => {
      const rel = withoutTrailingNumber(line);
      const className = rel.split("/")[0]!;
      const label = labelOf.get(className);
      if (label === undefined || !rel.includes("/")) {
        throw new DataError(
          `${listFile} (data.split): "${line}" names class "${className}", expected "<class>/<video>" with a class among ${classNames.slice(0, 5).join(", ")}${classNames.length > 5 ? ", ..." : ""}`,
          listFile, "data.split",
        );
      }
      return { file: join(root, rel), label };
    });
  };
  const pad = String(n).padStart(2, "0");
  const index = { classNames, train: await read(`trainlist${pad}.txt`), eval: await read(`testlist${pad}.txt`), evalIsTrain: false };
  checkHeldOut(index, join(dir, `testlist${pad}.txt`), () => join(dir, `trainlist${pad}.txt`));
  return index;
}

/**
 * A split's evaluation videos must exist and be held out: an empty test list would leave
 * evaluation nothing to run (found only at the first evaluation, mid-run), and a video listed
 * for both would be evaluated on while the run records held-out videos.
 */
function checkHeldOut(index: VideoIndex, evalList: string, trainList: (video: LabelledVideo) => string): void {
  if (index.eval.length === 0) {
    throw new DataError(`${evalList} (data.split): lists no evaluation videos; a split needs held-out videos to evaluate on`, evalList, "data.split");
  }
  const train = new Set(index.train.map((v) => v.file));
  const both = index.eval.filter((v) => train.has(v.file));
  if (both.length > 0) {
    const list = trainList(both[0]);
    throw new DataError(
      `${list} (data.split): ${both.length} of the split's ${index.eval.length} evaluation videos ${both.length === 1 ? "is" : "are"} listed for training too: ${both.slice(0, 3).map((v) => v.file).join(", ")}${both.length > 3 ? ", ..." : ""}; evaluation must be on held-out videos`,
      list,
      "data.split",
    );
  }
}

/** UCF101's classInd.txt: "<1-based index> <class name>" per line. */
async function readClassInd(file: string): Promise<string[]> {
  const classNames: string[] = [];
  for (const line of await readLines(file)) {
    // The name is the rest of the line: class folder names may hold spaces.
    const [, id, name] = /^(\S+)\s+(.+)$/.exec(line) ?? [];
    if (name === undefined || !Number.isInteger(Number(id)) || Number(id) < 1) {
      throw new DataError(`${file} (data.split): line "${line}" is not "<1-based index> <class name>"`, file, "data.split");
    }
    classNames[Number(id) - 1] = name;
  }
  return classNames;
}

async function hmdb51Split(root: string, folders: string[], dir: string, n: number): Promise<VideoIndex> {
  const suffix = `_test_split${n}.txt`;
  const splitFiles = await requireSplitFiles(dir, "hmdb51", n);
  const classNames = splitFiles.map((f) => f.slice(0, -suffix.length));
  const missing = classNames.filter((c) => !folders.includes(c));
  if (missing.length > 0) {
    throw new DataError(`${dir} (data.split): split files name classes without a folder under ${root}: ${missing.join(", ")}`, dir, "data.split");
  }
  const train: LabelledVideo[] = [];
  const evalSet: LabelledVideo[] = [];
  for (const [label, name] of classNames.entries()) {
    const splitFile = join(dir, splitFiles[label]!);
    for (const line of await readLines(splitFile)) {
      // "<video> <use>": the video is everything before the last field (names may hold spaces).
      const [, video, use] = /^(.+?)\s+(\S+)$/.exec(line) ?? [];
      if (video === undefined || !["0", "1", "2"].includes(use ?? "")) {
        throw new DataError(`${splitFile} (data.split): line "${line}" is not "<video> <0|1|2>"`, splitFile, "data.split");
      }
      if (use === "1") train.push({ file: join(root, name, video), label });
      if (use === "2") evalSet.push({ file: join(root, name, video), label });
    }
  }
  const index = { classNames, train, eval: evalSet, evalIsTrain: false };
  // A video marked both 1 and 2 can only be in its own class's file.
  checkHeldOut(index, join(dir, `*${suffix}`), (video) => join(dir, splitFiles[video.label]!));
  return index;
}

/** The files split `n` of a format needs, as a message says them. */
function splitFilesNeeded(format: "ucf101" | "hmdb51", n: number): string {
  const pad = String(n).padStart(2, "0");
  return format === "ucf101" ? `trainlist${pad}.txt and testlist${pad}.txt, with classInd.txt for UCF101's class numbering` : `one <class>_test_split${n}.txt per class`;
}

/** The split numbers of which `names` hold a file: trainlist0N.txt or testlist0N.txt, or any *_test_splitN.txt. */
function splitsPresent(format: "ucf101" | "hmdb51", names: readonly string[]): number[] {
  const pattern = format === "ucf101" ? /^(?:train|test)list(\d+)\.txt$/ : /_test_split(\d+)\.txt$/;
  const found = new Set(names.map((name) => pattern.exec(name)?.[1]).filter((m) => m !== undefined).map(Number));
  return [...found].sort((a, b) => a - b);
}

/**
 * Split `n`'s files in `dir`, or an error naming the setting that is wrong rather than a file
 * that does not exist: data.split.dir where the folder is missing or holds no split of the
 * format (a wrong folder), data.split.index where it holds others but not this one. With no file
 * of its own, the error gets the experiment file, or the override that set the key, before it
 * (errors.ts nameExperimentFile). Returns hmdb51's per-class files, sorted (ucf101's are read by name).
 */
async function requireSplitFiles(dir: string, format: "ucf101" | "hmdb51", n: number): Promise<string[]> {
  const needed = `split ${n} needs ${splitFilesNeeded(format, n)}`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such folder" : code === "ENOTDIR" ? "not a folder" : (err as Error).message;
    throw new DataError(`data.split.dir: ${dir}: ${why}; expected the folder of the ${format} split files (${needed})`, undefined, "data.split.dir");
  }
  const pad = String(n).padStart(2, "0");
  const lacking = format === "ucf101" ? [`trainlist${pad}.txt`, `testlist${pad}.txt`].filter((f) => !names.includes(f)) : [];
  const present = splitsPresent(format, names);
  if (present.includes(n) && lacking.length === 0) return format === "hmdb51" ? names.filter((f) => f.endsWith(`_test_split${n}.txt`)).sort() : [];
  if (present.includes(n)) {
    // Half of split n: the folder is the right one, with a file missing.
    throw new DataError(`data.split.dir: ${dir} lacks ${lacking.join(" and ")}; expected all of split ${n} (data.split.index) there: ${needed}`, undefined, "data.split.dir");
  }
  if (present.length === 0) {
    throw new DataError(`data.split.dir: ${dir} holds no ${format} split files; expected the folder of them (${needed})`, undefined, "data.split.dir");
  }
  const lacks = format === "ucf101" ? lacking.join(" and ") : `*_test_split${n}.txt`;
  const others = `split${present.length === 1 ? "" : "s"} ${present.join(", ")}`;
  throw new DataError(
    `data.split.index: ${n}, but ${dir} (data.split.dir) lacks ${lacks}: it holds ${format} files of ${others} only; ` +
      `expected data.split.index ${present.length === 1 ? present[0] : `among ${present.join(", ")}`}, or split ${n}'s files there (${needed})`,
    undefined, "data.split.index",
  );
}

/**
 * A UCF101 list line's video path: trainlist lines end in " <class number>", testlist lines hold
 * the path alone. Only a trailing number is removed, so paths with spaces stay whole.
 */
function withoutTrailingNumber(line: string): string {
  return /^(.*\S)\s+\d+$/.exec(line)?.[1] ?? line;
}

function interleaveByClass(videos: LabelledVideo[]): LabelledVideo[] {
  const byClass = new Map<number, LabelledVideo[]>();
  for (const v of videos) {
    const list = byClass.get(v.label);
    if (list === undefined) byClass.set(v.label, [v]);
    else list.push(v);
  }
  const queues = [...byClass.keys()].sort((a, b) => a - b).map((k) => byClass.get(k)!);
  const out: LabelledVideo[] = [];
  for (let round = 0; out.length < videos.length; round++) {
    for (const q of queues) if (round < q.length) out.push(q[round]!);
  }
  return out;
}
