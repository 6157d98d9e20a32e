/**
 * `results table --against KEY=VALUE` (src/results/paired-diff.ts): each configuration's
 * difference from its baseline, paired by seed, worked out here by hand from the runs' values.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main.js";
import { InputError } from "../src/errors.js";
import type { CsvRow } from "../src/results/csv-read.js";
import { noBaselineNote } from "../src/results/no-baseline.js";
import { pairedDifferences, parseAgainst } from "../src/results/paired-diff.js";
import { paperTable, tableCsv, tableLatex, tableMarkdown } from "../src/results/paper-table.js";
import { captureIo } from "./helpers/capture-io.js";

const COLUMNS = ["run_id", "config_id", "train.method", "train.optimizer.lr", "seed", "method", "status", "final_eval_clip_top1"];

/** Runs of one configuration: its values by seed (null: that seed failed). */
function config(id: string, method: string, lr: number, bySeed: (number | null)[]): CsvRow[] {
  return bySeed.map((v, seed) => ({ run_id: `${id}${seed}`, config_id: id, "train.method": method, "train.optimizer.lr": lr, seed, method, status: v === null ? "failed" : "completed", final_eval_clip_top1: v }));
}

// bp and sideways at two learning rates, 3 seeds; sideways at lr 0.1 lost seed 2; pipelined-bp only at lr 0.05.
const RUNS: CsvRow[] = [
  ...config("bpA", "bp", 0.1, [0.5, 0.6, 0.7]),
  ...config("swA", "sideways", 0.1, [0.55, 0.62, null]),
  ...config("bpB", "bp", 0.01, [0.3, 0.2, 0.4]),
  ...config("swB", "sideways", 0.01, [0.25, 0.2, 0.3]),
  ...config("pbC", "pipelined-bp", 0.05, [0.45, 0.5, 0.55]),
];

describe("results table --against: differences from a baseline, paired by seed", () => {
  const against = parseAgainst("train.method=bp");
  const table = () => {
    const t = paperTable(COLUMNS, RUNS, ["final_eval_clip_top1"], "std");
    t.paired = { against, cells: pairedDifferences(t, RUNS, against), note: "NOTE" };
    return t;
  };

  it("pairs each row with the baseline of the same other settings, seed by seed, over the seeds completed in both", () => {
    const cells = table().paired!.cells;
    expect(cells.get("bpA")).to.equal("baseline");
    expect(cells.get("bpB")).to.equal("baseline");
    // swA - bpA: seeds 0 and 1 (seed 2 failed): +0.05, +0.02 -> mean 0.035, sample std 0.03/sqrt(2).
    const a = (cells.get("swA") as Record<string, { mean: number; std: number; n: number }>).final_eval_clip_top1;
    expect(a.n).to.equal(2);
    expect(a.mean).to.be.closeTo(0.035, 1e-12);
    expect(a.std).to.be.closeTo(0.03 / Math.SQRT2, 1e-12);
    // swB - bpB: -0.05, 0, -0.1 -> mean -0.05, sample std 0.05.
    const b = (cells.get("swB") as Record<string, { mean: number; std: number; n: number }>).final_eval_clip_top1;
    expect(b.n).to.equal(3);
    expect(b.mean).to.be.closeTo(-0.05, 1e-12);
    expect(b.std).to.be.closeTo(0.05, 1e-12);
    // No bp at lr 0.05: no baseline.
    expect(cells.get("pbC")).to.equal(null);
  });

  it("writes Δ columns: signed means, '(baseline)', a dash without a baseline; the CSV's <metric>_delta_* and the note", () => {
    const t = table();
    const md = tableMarkdown(t);
    expect(md.split("\n")[0]).to.equal("| train.method | train.optimizer.lr | final_eval_clip_top1 | Δ final_eval_clip_top1 | not_completed |");
    expect(md).to.include("| bp | 0.1 | 0.600 ± 0.100 (n=3) | (baseline) |");
    expect(md).to.include("| sideways | 0.1 | 0.585 ± 0.049 (n=2) | +0.035 ± 0.021 (n=2) |");
    expect(md).to.include("| sideways | 0.01 | 0.250 ± 0.050 (n=3) | -0.050 ± 0.050 (n=3) |");
    expect(md).to.include("| pipelined-bp | 0.05 | 0.500 ± 0.050 (n=3) | – |");
    expect(md).to.include("\nNOTE\n");
    expect(tableLatex(t)).to.include("$\\Delta$ clip top-1").and.include("$+0.035 \\pm 0.021$ (2)").and.include("(baseline)").and.include("% NOTE");
    const [header, ...rows] = tableCsv(t).trim().split("\n");
    expect(header.split(",").slice(-5)).to.deep.equal(["final_eval_clip_top1_n", "final_eval_clip_top1_delta_mean", "final_eval_clip_top1_delta_std", "final_eval_clip_top1_delta_n", "not_completed"]);
    // The baseline's Δ cells are blank, as are those of a row without a baseline.
    expect(rows[0].split(",").slice(-4, -1)).to.deep.equal(["", "", ""]);
    expect(rows[1].split(",").slice(-4, -2).map(Number)[0]).to.be.closeTo(0.035, 1e-12);
  });

  it("a difference that rounds to zero is written without a sign", () => {
    const runs = [...config("bp", "bp", 0.1, [0.5, 0.6]), ...config("sw", "sideways", 0.1, [0.49999, 0.59999]), ...config("pb", "pipelined-bp", 0.1, [0.50001, 0.60001])];
    const t = paperTable(COLUMNS, runs, ["final_eval_clip_top1"], "std");
    t.paired = { against, cells: pairedDifferences(t, runs, against), note: "NOTE" };
    const md = tableMarkdown(t);
    // -1e-5 and +1e-5, both "0.000" at 3 decimals (their std, 0 up to rounding, likewise).
    expect(md).to.match(/\| sideways \| 0\.1 \| [^|]+ \| 0\.000 ± 0\.000 \(n=2\) \|/).and.to.match(/\| pipelined-bp \| 0\.1 \| [^|]+ \| 0\.000 ± 0\.000 \(n=2\) \|/);
  });

  it("refuses a key that is not a setting column, a value no configuration has, an ambiguous baseline and text that is not KEY=VALUE", () => {
    const t = paperTable(COLUMNS, RUNS, ["final_eval_clip_top1"], "std");
    expect(() => pairedDifferences(t, RUNS, parseAgainst("train.steps=10"))).to.throw(InputError, "'train.steps' is not a column of this table; its setting columns: train.method, train.optimizer.lr");
    expect(() => pairedDifferences(t, RUNS, parseAgainst("train.method=adam"))).to.throw(InputError, "no configuration has train.method = adam; its values here: bp, sideways, pipelined-bp");
    // Against lr 0.1, a row at lr 0.01 has no baseline of its method; against a method alone (two lrs), ambiguous.
    const byMethod = paperTable(COLUMNS.filter((c) => c !== "train.optimizer.lr"), RUNS, ["final_eval_clip_top1"], "std");
    expect(() => pairedDifferences(byMethod, RUNS, against)).to.throw(InputError, /configurations \(.*\) have train\.method = bp and the settings of configuration swA in this table's columns, so its baseline is ambiguous/);
    for (const bad of ["train.method", "=bp", "train.method="]) expect(() => parseAgainst(bad), bad).to.throw(InputError, "expected KEY=VALUE");
  });

  it("says under the table why rows have no baseline: a value no baseline has (with the rule's reason), or a combination", () => {
    // experiments/rules-study.yaml's zip, in-clip updates every 4: no BP run can have them (nor weight stashing).
    const columns = ["run_id", "config_id", "train.method", "train.update_every", "train.weight_stashing", "seed", "method", "status", "final_eval_clip_top1"];
    const rule = (id: string, method: string, every: string | number, stashing: string): CsvRow[] =>
      [0, 1].map((seed) => ({ run_id: `${id}${seed}`, config_id: id, "train.method": method, "train.update_every": every, "train.weight_stashing": stashing, seed, method, status: "completed", final_eval_clip_top1: 0.5 }));
    const runs = [...rule("bp", "bp", "clip", "false"), ...rule("pb", "pipelined-bp", "clip", "false"), ...rule("sw", "sideways", "clip", "false"), ...rule("pb4", "pipelined-bp", 4, "false"), ...rule("pb4s", "pipelined-bp", 4, "true"), ...rule("sw4", "sideways", 4, "false")];
    const t = paperTable(columns, runs, ["final_eval_clip_top1"], "std");
    const cells = pairedDifferences(t, runs, against);
    expect(["sw", "pb4", "pb4s", "sw4"].map((id) => cells.get(id) === null)).to.deep.equal([false, true, true, true]);
    expect(noBaselineNote(t, against, cells)).to.equal(
      "A dash in a Δ column: no configuration with train.method = bp has that row's other settings: " +
        "none has train.update_every = 4 (BP takes no in-clip updates; train.update_every other than clip applies to sideways, pipelined-bp); " +
        "none has train.weight_stashing = true (BP stashes no weights; train.weight_stashing applies to pipelined-bp)",
    );
    // Against another key no rule's reason: the value alone. Every row with a baseline: no note.
    const byEvery = parseAgainst("train.update_every=clip");
    expect(noBaselineNote(t, byEvery, pairedDifferences(t, runs, byEvery))).to.equal(
      "A dash in a Δ column: no configuration with train.update_every = clip has that row's other settings: none has train.weight_stashing = true",
    );
    const full = paperTable(COLUMNS, RUNS, ["final_eval_clip_top1"], "std");
    const swOnly = RUNS.filter((r) => r.config_id !== "pbC");
    const paired = paperTable(COLUMNS, swOnly, ["final_eval_clip_top1"], "std");
    expect(noBaselineNote(paired, against, pairedDifferences(paired, swOnly, against))).to.equal(null);
    expect(noBaselineNote(full, against, pairedDifferences(full, RUNS, against))).to.equal(
      "A dash in a Δ column: no configuration with train.method = bp has that row's other settings: none has train.optimizer.lr = 0.05",
    );
    // bp at (lr 0.1, batch 8) and (lr 0.01, batch 16); sideways at (lr 0.1, batch 16): each value is a baseline's, not both.
    const combo = ["run_id", "config_id", "train.method", "train.optimizer.lr", "train.batch_size", "seed", "method", "status", "final_eval_clip_top1"];
    const at = (id: string, method: string, lr: number, batch: number): CsvRow => ({ run_id: id, config_id: id, "train.method": method, "train.optimizer.lr": lr, "train.batch_size": batch, seed: 0, method, status: "completed", final_eval_clip_top1: 0.5 });
    const comboRuns = [at("bpA", "bp", 0.1, 8), at("bpB", "bp", 0.01, 16), at("sw", "sideways", 0.1, 16)];
    const c = paperTable(combo, comboRuns, ["final_eval_clip_top1"], "std");
    expect(noBaselineNote(c, against, pairedDifferences(c, comboRuns, against))).to.equal(
      "A dash in a Δ column: no configuration with train.method = bp has that row's other settings: none has train.optimizer.lr = 0.1 with train.batch_size = 16 (each is some baseline's, not together)",
    );
  });

  it("sideways results table DIR --against: its own files beside the sweep's table, exit 2 naming the option for a bad key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sideways-paired-"));
    try {
      const csv = (rows: CsvRow[]) => [COLUMNS.join(","), ...rows.map((r) => COLUMNS.map((c) => r[c] ?? "").join(","))].join("\n") + "\n";
      writeFileSync(join(dir, "runs.csv"), csv(RUNS));
      writeFileSync(join(dir, "table.md"), "the sweep's table\n");
      const io = captureIo();
      expect(await main(["results", "table", dir, "--against", "train.method=bp", "--metric", "final_eval_clip_top1"], io), io.stderr).to.equal(0);
      expect(readdirSync(dir).filter((f) => f.startsWith("table-")).sort()).to.deep.equal(["csv", "md", "tex"].map((x) => `table-final_eval_clip_top1-vs-train.method_bp.${x}`));
      expect(io.stdout).to.include("| +0.035 ± 0.021 (n=2) |");
      // The dash of pipelined-bp at lr 0.05 is said under the table, in the .md and the .tex.
      const why = "A dash in a Δ column: no configuration with train.method = bp has that row's other settings: none has train.optimizer.lr = 0.05";
      expect(io.stdout).to.include(`same clips. ${why}\n`);
      expect(readFileSync(join(dir, "table-final_eval_clip_top1-vs-train.method_bp.tex"), "utf8")).to.include(`same clips. ${why}\n`);
      expect(readFileSync(join(dir, "table.md"), "utf8")).to.equal("the sweep's table\n");
      const bad = captureIo();
      expect(await main(["results", "table", dir, "--against", "lr=0.1"], bad)).to.equal(2);
      expect(bad.stderr).to.include("--against lr=0.1: 'lr' is not a column of this table");
      const format = captureIo();
      expect(await main(["results", "table", dir, "--against", "bp"], format)).to.equal(2);
      expect(format.stderr).to.include("--against bp: expected KEY=VALUE");
      expect(readdirSync(dir).filter((f) => f.startsWith("table-"))).to.have.length(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
