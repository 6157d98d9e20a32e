/**
 * A 3x5-pixel font for the contact sheet's labels (export-sample.ts): digits, letters (lower case
 * drawn as upper case) and a little punctuation, drawn into RGBA pixels, so that the sheet names
 * each clip's class without a font file or a dependency. Any other character draws as "?".
 */

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;
/** Pixels from one character's left edge to the next's: a column of space between them. */
export const GLYPH_ADVANCE = GLYPH_WIDTH + 1;

/** Each glyph as 5 rows of 3 pixels, "#" on. */
const GLYPHS: Record<string, string> = {
  "0": "###,#.#,#.#,#.#,###", "1": ".#.,##.,.#.,.#.,###", "2": "###,..#,###,#..,###", "3": "###,..#,.##,..#,###",
  "4": "#.#,#.#,###,..#,..#", "5": "###,#..,###,..#,###", "6": "###,#..,###,#.#,###", "7": "###,..#,.#.,.#.,.#.",
  "8": "###,#.#,###,#.#,###", "9": "###,#.#,###,..#,###",
  A: ".#.,#.#,###,#.#,#.#", B: "##.,#.#,##.,#.#,##.", C: ".##,#..,#..,#..,.##", D: "##.,#.#,#.#,#.#,##.",
  E: "###,#..,##.,#..,###", F: "###,#..,##.,#..,#..", G: ".##,#..,#.#,#.#,.##", H: "#.#,#.#,###,#.#,#.#",
  I: "###,.#.,.#.,.#.,###", J: "..#,..#,..#,#.#,.#.", K: "#.#,#.#,##.,#.#,#.#", L: "#..,#..,#..,#..,###",
  M: "#.#,###,###,#.#,#.#", N: "##.,#.#,#.#,#.#,#.#", O: ".#.,#.#,#.#,#.#,.#.", P: "##.,#.#,##.,#..,#..",
  Q: ".#.,#.#,#.#,##.,.##", R: "##.,#.#,##.,#.#,#.#", S: ".##,#..,.#.,..#,##.", T: "###,.#.,.#.,.#.,.#.",
  U: "#.#,#.#,#.#,#.#,###", V: "#.#,#.#,#.#,#.#,.#.", W: "#.#,#.#,###,###,#.#", X: "#.#,#.#,.#.,#.#,#.#",
  Y: "#.#,#.#,.#.,.#.,.#.", Z: "###,..#,.#.,#..,###",
  " ": "...,...,...,...,...", "-": "...,...,###,...,...", _: "...,...,...,...,###", ".": "...,...,...,...,.#.",
  ":": "...,.#.,...,.#.,...", "/": "..#,..#,.#.,#..,#..", "(": ".#.,#..,#..,#..,.#.", ")": ".#.,..#,..#,..#,.#.",
  "?": "##.,..#,.#.,...,.#.",
};

/** Whether pixel (x, y) of `char`'s glyph is on. */
export function glyphPixel(char: string, x: number, y: number): boolean {
  const rows = (GLYPHS[char.toUpperCase()] ?? GLYPHS["?"]!).split(",");
  return rows[y]![x] === "#";
}

/**
 * Draws `text` in black into `data` (RGBA, `width` pixels a row) from (left, top), each font
 * pixel a `scale` x `scale` square, stopping at the character that would pass `right`.
 */
export function drawText(data: Uint8Array, width: number, text: string, left: number, top: number, scale: number, right: number): void {
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    const x0 = left + i * GLYPH_ADVANCE * scale;
    if (x0 + GLYPH_WIDTH * scale > right) return;
    for (let y = 0; y < GLYPH_HEIGHT; y++) {
      for (let x = 0; x < GLYPH_WIDTH; x++) {
        if (!glyphPixel(chars[i]!, x, y)) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const at = ((top + y * scale + dy) * width + x0 + x * scale + dx) * 4;
            data[at] = data[at + 1] = data[at + 2] = 0;
            data[at + 3] = 255;
          }
        }
      }
    }
  }
}
