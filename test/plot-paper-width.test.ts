/**
 * `sideways plot DIR --width 3.3in`: figures sized for a paper. The SVG is as wide as asked (96 px
 * an inch), its text at 7 to 9 pt once rsvg-convert makes a PDF of it (1 px = 0.75 pt), every
 * text inside the figure (its width estimated as paper-figure.ts estimates it), the legend under
 * the plot, and the title and subtitle lines in a caption file. The runs and runs.csv are written
 * here; the widths are worked out here from the units' definitions.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { InputError } from "../src/errors.js";
import { PAPER_TEXT_PT, TEXT_CHAR_EM, parsePaperWidth } from "../src/results/paper-figure.js";
import { captureIo } from "./helpers/capture-io.js";
import { freshFolderEachTest } from "./helpers/temp-folder.js";
import { summary, writeRun } from "./helpers/run-records.js";

/** A completed run folder `root/id` with a metrics.csv (loss, and cos_b0..2 where `cosines`) and an eval.csv. */
function run(root: string, id: string, params: Record<string, unknown>, losses: number[], acc: number[], configId: string): void {
  writeRun(root, id, params, summary("completed", acc[acc.length - 1]), 0, configId);
  const dir = join(root, id);
  writeFileSync(join(dir, "metrics.csv"), "step,train_loss,cos_b0,cos_b1,cos_b2\n" + losses.map((l, i) => `${i + 1},${l},${0.8 + i / 100},0.9,0.99`).join("\n") + "\n");
  writeFileSync(join(dir, "eval.csv"), "step,eval_clip_top1,wall_s\n" + acc.map((a, i) => `${(i + 1) * 2},${a},${(i + 1) * 1.5}`).join("\n") + "\n");
}

/** A sweep of BP and Sideways over two models whose names make long legend labels. */
function sweep(root: string): void {
  const models = ["../models/quickstart-cnn-silu.yaml", "../models/quickstart-cnn-gelu.yaml"];
  for (const model of models)
    for (const method of ["bp", "sideways"])
      for (const seed of [0, 1]) {
        const configId = `${model}-${method}`;
        run(root, `${method}-${model.slice(10, -5)}-s${seed}`, { model, "train.method": method, seed }, [2.3, 2 - seed / 10, 1.5, 1.2], [0.2, 0.5 + seed / 10], configId);
      }
}

interface PlacedText {
  lines: string[];
  fontPx: number;
  /** The text's left and right ends and its baseline, in the figure's pixels (a rotated one: its top and bottom, as y). */
  from: number;
  to: number;
  rotated: boolean;
  /** Its baseline's y in the figure (of an unrotated text). */
  y: number;
  /** The roles of the vega groups it is in (role-axis, role-legend, ...). */
  roles: string[];
}

/**
 * Every text of a vega SVG placed in the figure: the translations of the groups it is in added up
 * (vega places with translate() alone), its width estimated as the code estimates it (TEXT_CHAR_EM
 * of its font size a character, its longest line), from its anchor.
 */
function placedTexts(svg: string): PlacedText[] {
  const out: PlacedText[] = [];
  const stack: { x: number; y: number; role: string }[] = [{ x: 0, y: 0, role: "" }];
  const translate = (attrs: string) => {
    const m = /transform="translate\(([-\d.e]+),([-\d.e]+)\)/.exec(attrs);
    return m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
  };
  for (const m of svg.matchAll(/<g([^>]*)>|<\/g>|<text([^>]*)>(.*?)<\/text>/g)) {
    const top = stack[stack.length - 1];
    if (m[0] === "</g>") stack.pop();
    else if (m[1] !== undefined) {
      const [dx, dy] = translate(m[1]);
      stack.push({ x: top.x + dx, y: top.y + dy, role: /class="[^"]*(role-[a-z-]+)/.exec(m[1])?.[1] ?? "" });
    } else {
      const attrs = m[2];
      if (!/opacity="1"/.test(attrs)) continue; // a label vega hides (overlapping another)
      const lines = m[3].includes("<tspan") ? [...m[3].matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((t) => t[1]) : [m[3]];
      const fontPx = Number(/font-size="([\d.]+)px"/.exec(attrs)![1]);
      const [x, y] = translate(attrs);
      const rotated = /rotate\(/.test(attrs);
      const length = Math.max(...lines.map((l) => l.replace(/&[a-z]+;/g, "x").length)) * TEXT_CHAR_EM * fontPx;
      const anchor = /text-anchor="(\w+)"/.exec(attrs)?.[1] ?? "start";
      const at = rotated ? top.y + y : top.x + x;
      // Rotated -90 (the y axis's title): its start is at the bottom.
      const [from, to] = anchor === "middle" ? [at - length / 2, at + length / 2] : anchor === "end" ? (rotated ? [at, at + length] : [at - length, at]) : rotated ? [at - length, at] : [at, at + length];
      out.push({ lines, fontPx, from, to, rotated, y: top.y + y, roles: stack.map((s) => s.role).filter((r) => r !== "") });
    }
  }
  return out;
}

const sizeOf = (svg: string) => {
  const [, w, h] = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg)!;
  return { width: Number(w), height: Number(h) };
};

/** Points as SVG pixels in rsvg-convert's PDF (96 px an inch, 72 pt an inch). */
const pt = (px: number) => (px * 72) / 96;

describe("plot --width: figures sized for a paper", function () {
  this.timeout(120_000);
  let root: string;
  freshFolderEachTest("sideways-plot-paper-", (d) => (root = d));

  it("takes a length in in, cm, mm or TeX pt: the SVG's pixels are its inches x 96", () => {
    // 8.5 cm = 8.5 / 2.54 in; TeX's point is 1/72.27 in (\the\columnwidth of ACM's two columns: 241.14749pt).
    const cases: [string, number][] = [["3.3in", 3.3], ["8.5cm", 8.5 / 2.54], ["85mm", 85 / 25.4], ["241.14749pt", 241.14749 / 72.27], ["6.5in", 6.5], ["2in", 2], ["51mm", 51 / 25.4]];
    for (const [text, inches] of cases) {
      const w = parsePaperWidth(text);
      expect(w.px, text).to.equal(Math.round(inches * 96));
      expect(w.text, text).to.equal(text);
    }
  });

  it("a width that is no length, has no unit, or is out of range is an input error naming --width and what it takes", () => {
    for (const bad of ["0", "0in", "abc", "3.3", "3.3furlongs", "-3in", "1.9in", "21in", "3,3in", ""]) {
      let err: unknown;
      try {
        parsePaperWidth(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).to.be.instanceOf(InputError);
      expect((err as Error).message, bad).to.match(/^--width: expected a length with its unit, from 2in to 20in: in, cm, mm or pt/);
      expect((err as Error).message, bad).to.include(`found '${bad}'`);
    }
    expect(() => parsePaperWidth("3.3")).to.throw(/a number alone: say its unit/);
  });

  for (const bad of ["0", "abc", "3.3cm2", "3.3"])
    it(`sideways plot DIR --width ${bad}: exit 2, the message names --width and what it takes, nothing written`, async () => {
      sweep(root);
      const io = captureIo();
      expect(await main(["plot", root, "--width", bad], io), io.stderr).to.equal(2);
      expect(io.stderr).to.include("--width: expected a length with its unit");
      expect(io.stderr).to.include(`found '${bad}'`);
      expect(readdirSync(root).filter((f) => f.endsWith(".svg"))).to.deep.equal([]);
    });

  for (const bad of ["5", "13", "abc", "9px", "-8"])
    it(`sideways plot DIR --width 3.3in --font-size ${bad}: exit 2 naming --font-size and what it takes, nothing written`, async () => {
      sweep(root);
      const io = captureIo();
      expect(await main(["plot", root, "--width", "3.3in", "--font-size", bad], io), io.stderr).to.equal(2);
      expect(io.stderr).to.include("--font-size: expected a text size in points from 6 to 12");
      expect(io.stderr).to.include(`found '${bad}'`);
      expect(readdirSync(root).filter((f) => f.endsWith(".svg"))).to.deep.equal([]);
    });

  it("--font-size without --width: exit 2 saying it needs --width (the screen figures keep their sizes), nothing written", async () => {
    sweep(root);
    const io = captureIo();
    expect(await main(["plot", root, "--font-size", "9"], io), io.stderr).to.equal(2);
    expect(io.stderr).to.include("--font-size 9 sets the text of paper figures, and no --width was given");
    expect(readdirSync(root).filter((f) => f.endsWith(".svg"))).to.deep.equal([]);
  });

  it("--help says what --width takes and does, with an example", async () => {
    const io = captureIo();
    expect(await main(["plot", "--help"], io, { helpWidth: 110 }), io.stderr).to.equal(0);
    const help = io.stdout.replace(/\s+/g, " ");
    expect(help).to.include("--width");
    expect(help).to.include("for a paper: each figure this wide (3.3in, 8.5cm");
    expect(help).to.include("text at 8 pt");
    expect(help).to.include("sideways plot results/exp --width 3.3in");
  });

  // [inches, --font-size (undefined: not given, 8 pt)]
  for (const [inches, fontSize] of [[3.3, undefined], [2, undefined], [6.5, undefined], [3.3, 10], [2, 6], [6.5, 12]] as const)
  it(`each figure (curves, vs-time, gradient cosine) at ${inches}in${fontSize === undefined ? "" : ` --font-size ${fontSize}`} is that wide, its text at ${fontSize ?? 8}-${(fontSize ?? 8) + 1} pt in the PDF, every text inside the figure, the legend under the plot`, async () => {
    sweep(root);
    const io = captureIo();
    const sizeArgs = fontSize === undefined ? [] : ["--font-size", String(fontSize)];
    expect(await main(["plot", root, "--width", `${inches}in`, ...sizeArgs], io), io.stderr).to.equal(0);
    const textPt = fontSize ?? PAPER_TEXT_PT;
    const suffix = fontSize === undefined ? `${inches}in` : `${inches}in-${fontSize}pt`;
    const names = ["loss", "clip_accuracy", "clip_accuracy_vs_time", "gradient_cosine"].map((n) => `${n}-${suffix}.svg`);
    for (const name of names) {
      expect(io.stderr, name).to.include(`${name} (`);
      const svg = readFileSync(join(root, name), "utf8");
      const { width, height } = sizeOf(svg);
      expect(width, name).to.equal(Math.round(inches * 96));
      expect(height, name).to.be.within(100, 700);
      const texts = placedTexts(svg);
      expect(texts.length, name).to.be.greaterThan(10);
      for (const t of texts) {
        expect(pt(t.fontPx), `${name}: ${t.lines.join(" / ")}`).to.be.within(textPt - 1e-9, textPt + 1);
        const [lo, hi] = t.rotated ? [0, height] : [0, width];
        expect(t.from, `${name}: '${t.lines.join(" / ")}' starts outside the figure`).to.be.at.least(lo - 0.5);
        expect(t.to, `${name}: '${t.lines.join(" / ")}' ends outside the figure (${t.to.toFixed(1)} > ${hi})`).to.be.at.most(hi + 0.5);
      }
      // The legend: under the x axis's labels and title; every configuration named, a long one in lines.
      const legend = texts.filter((t) => t.roles.includes("role-legend"));
      const axis = texts.filter((t) => t.roles.includes("role-axis") && !t.rotated);
      expect(legend.length, name).to.be.greaterThan(0);
      expect(Math.min(...legend.map((t) => t.y)), name).to.be.greaterThan(Math.max(...axis.map((t) => t.y)));
      // Each label whole, whatever its lines (compared without the spaces its breaks took).
      const shown = legend.map((t) => t.lines.join("").replace(/ /g, ""));
      for (const label of ["model=quickstart-cnn-silu, method=bp", "model=quickstart-cnn-gelu, method=sideways"]) expect(shown, name).to.include(label.replace(/ /g, ""));
      // 42 characters at 8 pt (about 270 px as estimated; 400 px at 12 pt) fit beside one another on a page's width, not in a column.
      expect(legend.some((t) => t.lines.length > 1), `${name}: a label longer than the plot is in lines`).to.equal(inches < 6);
      // Its text size is the one asked: the largest text is of that size (vega's own are no larger).
      expect(Math.max(...texts.map((t) => pt(t.fontPx))), name).to.be.closeTo(textPt, 1e-9);
    }
  });

  it("the title and the subtitle's lines go to a caption file beside the figure, as the screen figure shows them; the figure has neither", async () => {
    sweep(root);
    expect(await main(["plot", root, "--spread", "ci95"], captureIo())).to.equal(0);
    const io = captureIo();
    expect(await main(["plot", root, "--width", "8.5cm", "--spread", "ci95"], io), io.stderr).to.equal(0);
    // The screen figure's title and subtitle lines: the texts of its title group, in the order drawn.
    const screen = readFileSync(join(root, "loss-ci95.svg"), "utf8");
    const titleGroup = screen.slice(screen.indexOf('class="mark-group role-title"'));
    const titleLines = [...titleGroup.matchAll(/<(?:text|tspan)[^>]*>([^<]+)</g)].map((m) => m[1].replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
    expect(titleLines[0]).to.equal("Training loss");
    expect(titleLines.length).to.be.greaterThan(2);
    const paper = readFileSync(join(root, "loss-ci95-8.5cm.svg"), "utf8");
    expect(paper).to.not.include("Training loss");
    expect(paper).to.not.include("role-title");
    expect(readFileSync(join(root, "loss-ci95-8.5cm.caption.txt"), "utf8")).to.equal(titleLines.map((l) => `${l}\n`).join(""));
    expect(io.stderr).to.include("title and notes for its caption in loss-ci95-8.5cm.caption.txt");
    expect(existsSync(join(root, "loss-ci95-8.5cm.csv"))).to.equal(true);
    expect(sizeOf(paper).width).to.equal(Math.round((8.5 / 2.54) * 96));
    // The screen figures beside them are as they were: --width names its own files.
    expect(readFileSync(join(root, "loss-ci95.svg"), "utf8")).to.equal(screen);
  });

  it("--against-setting --width: the figure as wide as asked, text at 7-9 pt inside it, its notes in a caption file", async () => {
    const dir = join(root, "s");
    mkdirSync(dir);
    const columns = ["run_id", "config_id", "train.optimizer.lr", "train.method", "seed", "method", "status", "final_eval_clip_top1"];
    const rows: string[] = [];
    for (const lr of [0.003, 0.01, 0.03, 0.1]) for (const method of ["bp", "sideways"]) for (const seed of [0, 1]) rows.push([`${method}-${lr}-${seed}`, `${method}-${lr}`, lr, method, seed, method, "completed", 0.5 + seed / 10 + lr].join(","));
    writeFileSync(join(dir, "runs.csv"), [columns.join(","), ...rows].join("\n") + "\n");
    const io = captureIo();
    expect(await main(["plot", dir, "--against-setting", "train.optimizer.lr", "--metric", "final_eval_clip_top1", "--width", "3.3in"], io), io.stderr).to.equal(0);
    const svg = readFileSync(join(dir, "final_eval_clip_top1-vs-lr-3.3in.svg"), "utf8");
    const { width, height } = sizeOf(svg);
    expect(width).to.equal(317);
    for (const t of placedTexts(svg)) {
      expect(pt(t.fontPx), t.lines.join(" / ")).to.be.within(PAPER_TEXT_PT - 1e-9, 9);
      expect(t.from, t.lines.join(" / ")).to.be.at.least(-0.5);
      expect(t.to, t.lines.join(" / ")).to.be.at.most((t.rotated ? height : width) + 0.5);
    }
    // Every swept learning rate is a tick label, shown.
    const ticks = placedTexts(svg).filter((t) => t.roles.includes("role-axis") && !t.rotated).map((t) => t.lines[0]);
    for (const lr of ["0.003", "0.01", "0.03", "0.1"]) expect(ticks).to.include(lr);
    const caption = readFileSync(join(dir, "final_eval_clip_top1-vs-lr-3.3in.caption.txt"), "utf8");
    expect(caption.split("\n")[0]).to.equal("final_eval_clip_top1 (runs.csv) against lr");
    expect(caption).to.include("point: mean over seeds");
    // At --font-size 10 too: its own files, every text 10-11 pt and inside the figure, every tick shown.
    expect(await main(["plot", dir, "--against-setting", "train.optimizer.lr", "--metric", "final_eval_clip_top1", "--width", "3.3in", "--font-size", "10"], captureIo())).to.equal(0);
    const big = readFileSync(join(dir, "final_eval_clip_top1-vs-lr-3.3in-10pt.svg"), "utf8");
    const bigSize = sizeOf(big);
    expect(bigSize.width).to.equal(317);
    for (const t of placedTexts(big)) {
      expect(pt(t.fontPx), t.lines.join(" / ")).to.be.within(10 - 1e-9, 11);
      expect(t.from, t.lines.join(" / ")).to.be.at.least(-0.5);
      expect(t.to, t.lines.join(" / ")).to.be.at.most((t.rotated ? bigSize.height : bigSize.width) + 0.5);
    }
    const bigTicks = placedTexts(big).filter((t) => t.roles.includes("role-axis") && !t.rotated).map((t) => t.lines[0]);
    for (const lr of ["0.003", "0.01", "0.03", "0.1"]) expect(bigTicks).to.include(lr);
  });

  it("rsvg-convert makes a PDF of the asked width from a paper figure", async function () {
    if (spawnSync("rsvg-convert", ["--version"]).status !== 0) {
      console.log("    (skipped: no rsvg-convert on PATH; Debian: apt-get install librsvg2-bin)");
      this.skip();
    }
    sweep(root);
    expect(await main(["plot", root, "--width", "3.3in"], captureIo())).to.equal(0);
    const r = spawnSync("rsvg-convert", ["-f", "pdf", "-o", "loss.pdf", "loss-3.3in.svg"], { cwd: root, encoding: "utf8", timeout: 30_000 });
    expect(r.status, r.stderr).to.equal(0);
    const box = /\/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/.exec(readFileSync(join(root, "loss.pdf")).toString("latin1"));
    // 3.3 in at 72 pt an inch, to the SVG's whole pixel (317 px = 3.302 in).
    expect(Number(box![1])).to.be.closeTo(3.3 * 72, 1);
  });
});

