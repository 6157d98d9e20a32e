/**
 * Figures sized for a paper (`sideways plot DIR --width 3.3in`): the SVG as wide as the width asked
 * (96 px an inch, as rsvg-convert and browsers read SVG pixels, so `rsvg-convert -f pdf` makes a
 * PDF of that width and `\includegraphics` needs no scaling), its text at PAPER_TEXT_PT (or
 * `--font-size`) whatever the width, the legend under the plot, and the title and subtitle lines taken out into a caption
 * file: at a column's width those notes, wrapped, were as tall as the plot, and a paper says them
 * in the caption. The screen figures (no --width) are drawn as before, byte for byte.
 */
import type { TopLevelSpec } from "vega-lite";
import { InputError } from "../errors.js";
import { wrapLine } from "./wrap-line.js";

/** A figure width as asked: the text given (kept for the files' names) and the SVG's pixels. */
export interface PaperWidth {
  /** As given, without spaces: `3.3in`, `8.5cm`; the files' names end in `-<text>`. */
  text: string;
  inches: number;
  /** The SVG's width: inches x PX_PER_INCH, rounded. */
  px: number;
}

/** SVG pixels an inch: CSS's, and rsvg-convert's default (1 px = 0.75 pt in its PDF). */
export const PX_PER_INCH = 96;

/**
 * The units --width takes, in inches. `pt` is TeX's point (1/72.27 in), what `\the\columnwidth`
 * prints (241.14749pt for ACM's two columns), so that length can be given as it is.
 */
const UNITS: Record<string, number> = { in: 1, cm: 1 / 2.54, mm: 1 / 25.4, pt: 1 / 72.27 };

/**
 * The narrowest and widest figure: below 2 in the axes at 8 pt leave almost no plot and the axis
 * titles and legend labels go to many short lines (two subfigures side by side in a 3.3 in column:
 * draw them at 2 in and scale them, or redraw from the .csv); 20 in is wider than any page or
 * poster column.
 */
export const MIN_WIDTH_IN = 2;
export const MAX_WIDTH_IN = 20;

/** The text size of a paper figure, in points: the usual size of a figure's text beside 9-10 pt body text. */
export const PAPER_TEXT_PT = 8;

/**
 * The text sizes --font-size takes: 6 pt is about the smallest print stays legible at; above 12 pt
 * figure text is larger than any journal's body text.
 */
export const MIN_TEXT_PT = 6;
export const MAX_TEXT_PT = 12;

/** A paper figure as asked: its width, and its text size in points (PAPER_TEXT_PT unless --font-size). */
export interface PaperFigure {
  width: PaperWidth;
  textPt: number;
}

/** A size in points as SVG pixels (rsvg-convert: 1 px = 0.75 pt). */
export const ptToPx = (pt: number) => (pt * PX_PER_INCH) / 72;

/**
 * A character's width, in ems, as this module lays text out: more than sans-serif text's average
 * (about 0.55 em for DejaVu Sans, which rsvg-convert draws sans-serif with; less for Helvetica and
 * Arial), so what is laid out to fit does. (vega, without a canvas in node, estimates 0.8 em and
 * would cut a legend label at labelLimit by that: none is set.)
 */
export const TEXT_CHAR_EM = 0.6;

/**
 * The plot's height: a fraction of the figure's width, up to 2.5 in (a page-wide figure as tall
 * as a column's would take half the page).
 */
const PLOT_ASPECT = 0.55;
const MAX_PLOT_HEIGHT_IN = 2.5;

/**
 * Room for the y axis beside the plot, estimated: its tick labels (up to 5 characters, 0.850),
 * ticks and gaps, and a line height (1.2 em) for each line of its title. The plot's width is the
 * rest, and the legend under it starts where the plot does. Whole pixels (at 8 pt: 48 and 13).
 */
const Y_TICK_LABEL_CHARS = 5;
const Y_TICKS_AND_GAPS_PX = 16;
const yAxisLabelsPx = (textPt: number) => Math.round(Y_TICK_LABEL_CHARS * paperCharPx(textPt) + Y_TICKS_AND_GAPS_PX);
const yTitleLinePx = (textPt: number) => Math.round(1.2 * ptToPx(textPt));

/** The space around the figure (vega-lite's default is 5). */
const PADDING_PX = 4;

/** A legend entry's room besides its label: the stroke symbol and the gap before the label (vega's: 16 px). */
const LEGEND_SYMBOL_PX = 16;
/** The space between legend columns (vega's columnPadding default). */
const LEGEND_COLUMN_GAP_PX = 10;

const expectedTextPt = `a text size in points from ${MIN_TEXT_PT} to ${MAX_TEXT_PT}, e.g. 9 or 9pt`;

/** A yargs `coerce` for --font-size: points, or an InputError naming --font-size, what it takes and the text given. */
export function parseTextPt(raw: unknown): number {
  const text = raw === true ? "" : String(raw).trim();
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(pt)?$/.exec(text);
  const pt = m === null ? NaN : Number(m[1]);
  if (!(pt >= MIN_TEXT_PT && pt <= MAX_TEXT_PT)) throw new InputError(`--font-size: expected ${expectedTextPt}; found ${raw === true ? "nothing" : `'${String(raw)}'`}`, undefined, "--font-size");
  return pt;
}

const expected = `a length with its unit, from ${MIN_WIDTH_IN}in to ${MAX_WIDTH_IN}in: in, cm, mm or pt (TeX's, as \\the\\columnwidth prints it), e.g. 3.3in, 8.5cm or 241.14749pt`;

/** A yargs `coerce` for --width: the width, or an InputError naming --width, what it takes and the text given. */
export function parsePaperWidth(raw: unknown): PaperWidth {
  // yargs passes `true` for an option given no value.
  if (raw === true) throw new InputError(`--width: expected ${expected}; found nothing`, undefined, "--width");
  const text = String(raw).trim().replace(/\s+/g, "");
  const m = /^(\d+(?:\.\d+)?|\.\d+)(in|cm|mm|pt)$/.exec(text);
  if (m === null) {
    const hint = /^[\d.]+$/.test(text) ? " (a number alone: say its unit)" : "";
    throw new InputError(`--width: expected ${expected}; found '${String(raw)}'${hint}`, undefined, "--width");
  }
  const inches = Number(m[1]) * UNITS[m[2]];
  if (!(inches >= MIN_WIDTH_IN - 1e-9 && inches <= MAX_WIDTH_IN + 1e-9)) throw new InputError(`--width: expected ${expected}; found '${String(raw)}' (${round(inches)} in)`, undefined, "--width");
  return { text, inches, px: Math.round(inches * PX_PER_INCH) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * `loss.svg` as `loss-3.3in.svg` (and its .csv), `loss-3.3in-9pt.svg` at another text size than
 * PAPER_TEXT_PT: a paper figure does not replace the screen one, or one of another size, beside it.
 */
export const paperFileName = (name: string, paper: PaperFigure | undefined) => {
  if (paper === undefined) return name;
  const suffix = paper.textPt === PAPER_TEXT_PT ? paper.width.text : `${paper.width.text}-${paper.textPt}pt`;
  return name.replace(/(\.[a-z]+)$/, `-${suffix}$1`);
};

/** The caption file beside a figure: `loss-3.3in.svg` -> `loss-3.3in.caption.txt`. */
export const captionFileName = (svgName: string) => svgName.replace(/\.svg$/, ".caption.txt");

/** The plot's height in a figure `width` wide. */
const plotHeightOf = (width: PaperWidth) => Math.round(Math.min(width.px * PLOT_ASPECT, MAX_PLOT_HEIGHT_IN * PX_PER_INCH));

/** A y axis's title as drawn beside the plot of `paper`: in lines where it is longer than the plot is tall. */
export const paperYTitle = (title: string, paper: PaperFigure) => wrapped(title, Math.floor(plotHeightOf(paper.width) / paperCharPx(paper.textPt)));

/**
 * The plot's width in `paper` whose y axis has a title of `yTitleLines`, estimated: what tick
 * labels, the x axis's title and the legend are laid out in.
 */
export const paperPlotWidth = (paper: PaperFigure, yTitleLines: number) =>
  paper.width.px - 2 * PADDING_PX - yAxisLabelsPx(paper.textPt) - yTitleLinePx(paper.textPt) * yTitleLines;

/** A character's estimated width at a text size of `textPt` (TEXT_CHAR_EM of it), in pixels. */
export const paperCharPx = (textPt: number) => TEXT_CHAR_EM * ptToPx(textPt);

// vega-lite's spec type is a union too deep to walk: the parts of the figures' specs touched here.
interface Channel {
  title?: unknown;
  scale?: { domain?: unknown };
  legend?: object;
}
interface Encoding {
  x?: Channel;
  y?: Channel;
  color?: Channel;
  strokeDash?: Channel;
}
interface SpecParts {
  title?: { text: string; subtitle?: string[] };
  encoding?: Encoding;
  layer?: { encoding?: Encoding }[];
  config?: { axis?: object; legend?: object };
  width?: number;
  height?: number;
  padding?: number;
  autosize?: object;
}

/**
 * A screen figure's spec made the paper figure `paper` (the module's comment), and its caption:
 * the title, then each subtitle line, as the screen figure shows them.
 */
export function paperSpec(spec: TopLevelSpec, paper: PaperFigure): { spec: TopLevelSpec; caption: string[] } {
  const width = paper.width;
  const s = structuredClone(spec) as unknown as SpecParts;
  const title = s.title;
  const caption = title === undefined ? [] : [title.text, ...(title.subtitle ?? [])];
  delete s.title;
  const fontPx = ptToPx(paper.textPt);
  const charPx = paperCharPx(paper.textPt);
  // An axis title longer than its axis is put in lines (vega draws an array of texts one under
  // another): the y axis's first, as its lines take from the plot's width.
  let yLines = 1;
  for (const layer of s.layer ?? []) {
    const y = layer.encoding?.y;
    if (typeof y?.title !== "string") continue;
    y.title = paperYTitle(y.title, paper);
    yLines = Math.max(yLines, Array.isArray(y.title) ? y.title.length : 1);
  }
  const room = paperPlotWidth(paper, yLines);
  const wrapX = (channel: Channel | undefined) => {
    if (typeof channel?.title === "string") channel.title = wrapped(channel.title, Math.floor(room / charPx));
  };
  wrapX(s.encoding?.x);
  for (const layer of s.layer ?? []) wrapX(layer.encoding?.x);
  // A legend label wider than the plot is put in lines, broken after its settings' commas.
  const labels = legendLabels(s);
  const labelLines = labels.map((l) => wrapped(l, Math.floor((room - LEGEND_SYMBOL_PX) / charPx)));
  const inLines = Object.fromEntries(labels.flatMap((l, i) => (Array.isArray(labelLines[i]) ? [[l, labelLines[i]]] : [])));
  if (Object.keys(inLines).length > 0) {
    const legend = { labelExpr: `${JSON.stringify(inLines)}[datum.label] || datum.label` };
    // Colour and dash share the one legend (the same field and title): each says the same lines.
    for (const layer of s.layer ?? []) for (const channel of [layer.encoding?.color, layer.encoding?.strokeDash]) if (channel !== undefined) channel.legend = legend;
  }
  const longest = Math.max(0, ...labelLines.map((l) => (Array.isArray(l) ? Math.max(...l.map((line) => line.length)) : l.length)));
  const entry = longest * charPx + LEGEND_SYMBOL_PX;
  // As many columns as the widest entry allows.
  const columns = Math.max(1, Math.min(labelLines.length, Math.floor((room + LEGEND_COLUMN_GAP_PX) / (entry + LEGEND_COLUMN_GAP_PX))));
  s.width = width.px;
  s.height = plotHeightOf(width);
  s.padding = PADDING_PX;
  // The width asked is the whole figure's: the plot is what the axes and the padding leave.
  s.autosize = { type: "fit-x", contains: "padding" };
  s.config = {
    ...s.config,
    axis: { ...s.config?.axis, labelFontSize: fontPx, titleFontSize: fontPx },
    legend: {
      ...s.config?.legend,
      orient: "bottom",
      direction: "vertical",
      columns,
      columnPadding: LEGEND_COLUMN_GAP_PX,
      labelFontSize: fontPx,
      titleFontSize: fontPx,
      labelLimit: 0,
    },
  };
  return { spec: s as TopLevelSpec, caption };
}

/**
 * `text` as one line where it fits in `max` characters, else its lines, broken at spaces and a word
 * longer than a line cut into lines of its own (at a narrow width a model's name is).
 */
export function wrapped(text: string, max: number): string | string[] {
  const most = Math.max(1, max);
  if (text.length <= most) return text;
  return wrapLine(text, most).flatMap((line) => Array.from({ length: Math.ceil(line.length / most) }, (_, i) => line.slice(i * most, (i + 1) * most)));
}

/** The legend's labels: the colour scale's domain (each figure colours its lines by their label). */
function legendLabels(spec: SpecParts): string[] {
  for (const layer of spec.layer ?? []) {
    const domain = layer.encoding?.color?.scale?.domain;
    if (Array.isArray(domain)) return domain.map(String);
  }
  return [];
}

/** A caption file's text: a line each. */
export const captionText = (caption: readonly string[]) => caption.map((l) => `${l}\n`).join("");
