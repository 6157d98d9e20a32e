/**
 * Progress display. On a terminal: a bar per active run (step, loss, last evaluation's clip
 * top-1 and its step, frames/s, ETA) under a sweep counter, redrawn in place. Elsewhere (CI, log
 * files): a plain line per run every few seconds and at each evaluation and end. `--quiet`: only
 * warnings and errors. Sweep children report through `JsonlProgress` (one JSON event per stdout line), which
 * the parent feeds to its board. frames/s is over the steps of the last RATE_WINDOW_S seconds, not
 * one step's (a single step's rate swings several-fold with the data wait and evaluation).
 *
 * Written here rather than with cli-progress (3.12.0, 6 packages, 296 KB installed), measured on
 * a non-terminal stream: its MultiBar.log() only buffers until the next redraw, so off a terminal
 * (noTTYOutput: false) log lines such as evaluations are lost, and with noTTYOutput: true it
 * reprints every bar every notTTYSchedule ms instead of one line per event; it also needs a TTY
 * stream object (cursorTo, clearLine), where this board writes through a function tests capture.
 */
import type { EvalMetrics, ProgressReporter, RunSummary, StepMetrics } from "../train/run-types.js";
import { count } from "../util/count.js";

export type ProgressEvent =
  | { event: "runStarted"; info: Parameters<ProgressReporter["runStarted"]>[0] }
  | { event: "stepDone"; m: StepMetrics }
  | { event: "evalDone"; m: EvalMetrics }
  | { event: "runEnded"; summary: RunSummary }
  | { event: "log"; message: string }
  | { event: "warn"; message: string };

export class JsonlProgress implements ProgressReporter {
  constructor(private readonly write: (line: string) => void) {}
  private send(e: ProgressEvent) {
    this.write(JSON.stringify(e) + "\n");
  }
  runStarted(info: Parameters<ProgressReporter["runStarted"]>[0]) {
    this.send({ event: "runStarted", info });
  }
  stepDone(m: StepMetrics) {
    this.send({ event: "stepDone", m });
  }
  evalDone(m: EvalMetrics) {
    this.send({ event: "evalDone", m });
  }
  runEnded(summary: RunSummary) {
    this.send({ event: "runEnded", summary });
  }
  log(message: string) {
    this.send({ event: "log", message });
  }
  warn(message: string) {
    this.send({ event: "warn", message });
  }
}

/** Feeds one parsed event to a reporter. */
export function dispatchEvent(e: ProgressEvent, to: ProgressReporter): void {
  if (e.event === "runStarted") to.runStarted(e.info);
  else if (e.event === "stepDone") to.stepDone(e.m);
  else if (e.event === "evalDone") to.evalDone(e.m);
  else if (e.event === "runEnded") to.runEnded(e.summary);
  else if (e.event === "warn") to.warn(e.message);
  else to.log(e.message);
}

export type DisplayMode = "tty" | "plain" | "quiet";

interface RunLine {
  runId: string;
  method: string;
  step: number;
  total: number;
  loss: number | null;
  /** clip top-1 of the last evaluation, and its step */
  evalTop1: number | null;
  evalStep: number;
  /** recent steps' frames and seconds, for frames/s over RATE_WINDOW_S */
  recent: { frames: number; seconds: number }[];
  startedAt: number;
  /** when its reporter was made: as a sweep launches the run's process, before it loads anything */
  launchedAt: number;
  lastPlainAt: number;
  /** the first step this process saw it do: 1 for a run trained from the start, more for a resumed one */
  firstStep: number | null;
}

export interface SweepCounts {
  total: number;
  done: number;
  failed: number;
  /** stopped at a non-finite loss (nan_loss), now or before: final unless --force */
  diverged: number;
  /** stopped by a stop signal (Ctrl-C, SIGTERM) with a resume checkpoint: not failed, and counted only here */
  interrupted: number;
  skipped: number;
}

const PLAIN_EVERY_MS = 10_000;
/** frames/s is over the steps of this many seconds (and at least the last step). */
export const RATE_WINDOW_S = 10;
const TTY_EVERY_MS = 100;

const fmt = (x: number | null, digits: number) => (x === null ? "-" : x.toFixed(digits));

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}` : `${m}:${String(sec).padStart(2, "0")}`;
}

/** "eval top-1 0.750 @ step 100": the last evaluation's, labelled as such (it is not this step's). */
function evalText(l: RunLine): string {
  return l.evalTop1 === null ? "eval top-1 -" : `eval top-1 ${fmt(l.evalTop1, 3)} @ step ${l.evalStep}`;
}

/** Appends a step and drops the oldest while the rest still span RATE_WINDOW_S. */
export function addStep(recent: { frames: number; seconds: number }[], frames: number, seconds: number): void {
  if (!Number.isFinite(frames) || !Number.isFinite(seconds) || seconds <= 0) return;
  recent.push({ frames, seconds });
  let span = recent.reduce((s, r) => s + r.seconds, 0);
  while (recent.length > 1 && span - recent[0].seconds >= RATE_WINDOW_S) span -= recent.shift()!.seconds;
}

/** Frames per second over the recent steps, or null before the first. */
export function windowRate(recent: readonly { frames: number; seconds: number }[]): number | null {
  const seconds = recent.reduce((s, r) => s + r.seconds, 0);
  return seconds > 0 ? recent.reduce((s, r) => s + r.frames, 0) / seconds : null;
}

/** Holds the state of every active run and draws it (bars on a terminal, lines elsewhere). */
export class ProgressBoard {
  private readonly runs = new Map<string, RunLine>();
  private counts: SweepCounts | null = null;
  /** runs a sweep trains at once (its --jobs), for its ETA */
  private jobs = 1;
  /** seconds each run took that this board saw completed from its first step (a sweep's ETA is their mean) */
  private readonly wholeRunSeconds: number[] = [];
  private drawnLines = 0;
  private lastDraw = 0;
  /** the counter (without its ETA) as a plain line last said it: finish does not say it again */
  private lastPlainCounts: string | null = null;

  constructor(
    readonly mode: DisplayMode,
    private readonly write: (text: string) => void,
    private readonly columns = 100,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A sweep's counts (and how many runs it trains at once). Off a terminal, a line says them each
   * time another run has ended, with the sweep's ETA: a log file shows how far a sweep has come.
   */
  setCounts(counts: SweepCounts, jobs?: number): void {
    const ended = (c: SweepCounts | null) => (c === null ? 0 : c.done + c.failed + c.diverged + c.interrupted + c.skipped);
    const more = this.counts !== null && ended(counts) > ended(this.counts) && ended(counts) < counts.total;
    this.counts = { ...counts };
    if (jobs !== undefined) this.jobs = jobs;
    if (more && this.mode === "plain") {
      this.plain(this.countsText());
      this.lastPlainCounts = this.countsText(false);
    }
    this.redraw(true);
  }

  /**
   * Seconds until the sweep ends, or null before any run has completed here from its first step:
   * the runs not started yet at the mean of those runs' times, and each running run at its own
   * ETA, shared among the runs it trains at once. Runs of other settings may take longer or less.
   */
  sweepEta(): number | null {
    const c = this.counts;
    if (c === null || this.wholeRunSeconds.length === 0) return null;
    const mean = this.wholeRunSeconds.reduce((a, b) => a + b, 0) / this.wholeRunSeconds.length;
    const running = [...this.runs.values()];
    const notStarted = Math.max(0, c.total - (c.done + c.failed + c.diverged + c.interrupted + c.skipped) - running.length);
    if (notStarted + running.length === 0) return null;
    const runningLeft = running.reduce((sum, l) => sum + (this.runEta(l) ?? mean), 0);
    return (notStarted * mean + runningLeft) / Math.max(1, Math.min(this.jobs, notStarted + running.length));
  }

  /**
   * A run whose process has ended: its bar goes, whether or not it said how it ended (a process
   * killed, or crashed in native code, sends no runEnded, and would be counted running still).
   */
  runGone(runId: string): void {
    if (this.runs.delete(runId)) this.redraw(true);
  }

  /** A reporter for one run; `runId` names it until the run reports its own. */
  reporter(runId: string): ProgressReporter {
    const line: RunLine = { runId, method: "", step: 0, total: 0, loss: null, evalTop1: null, evalStep: 0, recent: [], startedAt: this.now(), launchedAt: this.now(), lastPlainAt: this.now(), firstStep: null };
    return {
      runStarted: (info) => {
        Object.assign(line, { method: info.method, total: info.totalSteps, startedAt: this.now() });
        this.runs.set(runId, line);
        this.plain(`${runId}: started, ${info.description}`);
        this.redraw(true);
      },
      stepDone: (m) => {
        Object.assign(line, { step: m.step, total: m.total_steps, loss: m.train_loss });
        line.firstStep ??= m.step;
        addStep(line.recent, m.frames_per_s * m.step_s, m.step_s);
        if (this.mode === "plain" && this.now() - line.lastPlainAt >= PLAIN_EVERY_MS) {
          line.lastPlainAt = this.now();
          this.plain(this.statusText(line));
        }
        this.redraw(false);
      },
      evalDone: (m) => {
        line.evalTop1 = m.eval_clip_top1;
        line.evalStep = m.step;
        // Each level's top-5 right after its top-1, where the model has more than 5 classes.
        const top5 = (v: number | undefined) => (v === undefined ? "" : `, top-5 ${fmt(v, 3)}`);
        this.plain(
          `${runId}: eval at step ${m.step}: loss ${fmt(m.eval_loss, 4)}, clip top-1 ${fmt(m.eval_clip_top1, 3)}${top5(m.eval_clip_top5)}, frame top-1 ${fmt(m.eval_frame_top1, 3)}` +
            (m.eval_video_top1 === undefined ? "" : `, video top-1 ${fmt(m.eval_video_top1, 3)}${top5(m.eval_video_top5)} (${m.eval_videos} videos)`),
        );
        this.redraw(false);
      },
      runEnded: (s) => {
        if (this.runs.delete(runId) && s.status === "completed" && line.firstStep === 1) this.wholeRunSeconds.push((this.now() - line.launchedAt) / 1000);
        // A failed or diverged (nan_loss) run's message is its error, which follows (main's "error:" or
        // "run failed:" line, or the sweep's line with the run's stderr): said there only.
        const errorFollows = s.status === "failed" || s.status === "nan_loss";
        const why = s.message && !errorFollows ? ` (${s.message})` : "";
        this.message(`${runId}: ${s.status} after ${count(s.steps_done, "step")} in ${s.wall_s.toFixed(1)} s` + (s.final_eval_clip_top1 === null ? "" : `, clip top-1 ${fmt(s.final_eval_clip_top1, 3)}`) + why);
      },
      log: (message) => this.message(`${runId}: ${message}`),
      // A run's warnings print even with --quiet: a log kept small must still say why a result is suspect.
      warn: (message) => this.message(`${runId}: warning: ${message}`, true),
    };
  }

  /** A line that stays (printed above the bars on a terminal); shown unless quiet, or `always`. */
  message(text: string, always = false): void {
    if (this.mode === "quiet" && !always) return;
    this.clear();
    this.write(text + "\n");
    this.redraw(true);
  }

  /**
   * Ends the display: the bars are erased, the last counter line stays, without an ETA (nothing
   * more runs in this process). Off a terminal it is not repeated when the line printed as the
   * last run ended already said it (a sweep stopped by Ctrl-C or --fail-fast).
   */
  finish(): void {
    this.clear();
    if (!this.counts || this.mode === "quiet") return;
    const text = this.countsText(false);
    if (this.mode === "plain" && text === this.lastPlainCounts) return;
    this.write(text + "\n");
  }

  private plain(text: string) {
    if (this.mode === "plain") this.write(text + "\n");
  }

  /** Seconds left of one run at the pace of its steps so far in this process, or null before its first. */
  private runEta(l: RunLine): number | null {
    const steps = l.firstStep === null ? 0 : l.step - l.firstStep + 1;
    return steps > 0 ? (((this.now() - l.startedAt) / 1000) * (l.total - l.step)) / steps : null;
  }

  private statusText(l: RunLine): string {
    return `${l.runId}: step ${l.step}/${l.total} loss ${fmt(l.loss, 4)} ${evalText(l)} ${fmt(windowRate(l.recent), 0)} frames/s ETA ${duration(this.runEta(l) ?? NaN)}`;
  }

  private countsText(withEta = true): string {
    const c = this.counts!;
    const interrupted = c.interrupted > 0 ? `, ${c.interrupted} interrupted` : "";
    const diverged = c.diverged > 0 ? `, ${c.diverged} diverged` : "";
    const eta = withEta ? this.sweepEta() : null;
    return `sweep: ${c.done + c.failed + c.diverged + c.interrupted + c.skipped}/${c.total} (${c.done} done, ${c.failed} failed${diverged}${interrupted}, ${c.skipped} skipped), ${this.runs.size} running${eta === null ? "" : `, ETA ${duration(eta)}`}`;
  }

  private barText(l: RunLine): string {
    const width = 20;
    const filled = l.total > 0 ? Math.round((width * l.step) / l.total) : 0;
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const text = `${bar} ${l.step}/${l.total} loss ${fmt(l.loss, 4)} ${evalText(l)} ${fmt(windowRate(l.recent), 0)} fr/s ETA ${duration(this.runEta(l) ?? NaN)} ${l.runId}`;
    return text.slice(0, this.columns - 1);
  }

  private clear() {
    if (this.mode !== "tty" || this.drawnLines === 0) return;
    this.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private redraw(force: boolean) {
    if (this.mode !== "tty") return;
    const now = this.now();
    if (!force && now - this.lastDraw < TTY_EVERY_MS) return;
    this.lastDraw = now;
    this.clear();
    const lines = [...(this.counts ? [this.countsText()] : []), ...[...this.runs.values()].map((l) => this.barText(l))];
    if (lines.length) this.write(lines.join("\n") + "\n");
    this.drawnLines = lines.length;
  }
}

export function displayMode(quiet: boolean, stream: { isTTY?: boolean }): DisplayMode {
  return quiet ? "quiet" : stream.isTTY ? "tty" : "plain";
}
