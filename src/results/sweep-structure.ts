/**
 * How a sweep made its runs, as sweep-plan.json records it (`structure`): the keys sweep.grid
 * crosses, those sweep.zip varies together, and those sweep.random draws, each with its
 * distribution. A figure against a setting takes from it which other settings go with the one on
 * the x axis (setting-partners.ts), rather than inferring it from runs.csv's values alone, which a
 * random search fools (each draw fixes every drawn key, a `choice` of optimizer among them) and so
 * does a small grid where one key happens to fix another among the runs there are.
 */
import type { RandomParam, SweepSpec } from "../spec/sweep-spec.js";

export type RandomDist = RandomParam["dist"];

const RANDOM_DISTS: readonly RandomDist[] = ["uniform", "log_uniform", "int_uniform", "choice"];

export interface SweepStructure {
  /** sweep.grid's keys: each value crossed with every other swept value. */
  grid: string[];
  /** sweep.zip's keys: varied together, row by row. */
  zip: string[];
  /** sweep.random.params' keys, each with its distribution. */
  random: Record<string, RandomDist>;
}

/** The structure of `sweep` (its keys, in the file's order; not the seed). */
export function sweepStructure(sweep: SweepSpec): SweepStructure {
  return {
    grid: Object.keys(sweep.grid),
    zip: Object.keys(sweep.zip),
    random: Object.fromEntries(Object.entries(sweep.random?.params ?? {}).map(([k, p]) => [k, p.dist])),
  };
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

/** A plan's `structure` field as written by sweepStructure, or null (absent: a plan of an earlier version; or not of that shape). */
export function readStructure(value: unknown): SweepStructure | null {
  if (typeof value !== "object" || value === null) return null;
  const { grid, zip, random } = value as Record<string, unknown>;
  if (!isStringList(grid) || !isStringList(zip) || typeof random !== "object" || random === null || Array.isArray(random)) return null;
  if (!Object.values(random).every((d) => RANDOM_DISTS.includes(d as RandomDist))) return null;
  return { grid, zip, random: random as Record<string, RandomDist> };
}

/** Whether the sweep sets `key` (in its grid, zip or random draws). */
export const isSweptIn = (s: SweepStructure, key: string): boolean => s.grid.includes(key) || s.zip.includes(key) || key in s.random;

/** A random key whose draws are numbers (uniform, log_uniform, int_uniform): a value per draw, not a few to compare. */
const isDrawnNumber = (s: SweepStructure, key: string): boolean => key in s.random && s.random[key] !== "choice";

/**
 * The keys that the sweep's making pairs with swept `key`, a value of theirs with each of its:
 * the zip's other keys for a zip key; the other drawn numbers for a drawn number (each draw is one
 * configuration: a figure against the learning rate puts the weight decay drawn with it at its
 * point). None for a grid key or a random `choice`: each of their values is crossed with the
 * other swept values, as a line's setting.
 */
export function pairedKeys(s: SweepStructure, key: string): string[] {
  if (s.zip.includes(key)) return s.zip.filter((k) => k !== key);
  if (isDrawnNumber(s, key)) return Object.keys(s.random).filter((k) => k !== key && isDrawnNumber(s, k));
  return [];
}

/** Whether `a` and `b` are both keys of the sweep's zip: one figure may stand for both (swept-setting-figures.ts). */
export const zippedTogether = (s: SweepStructure, a: string, b: string): boolean => a !== b && s.zip.includes(a) && s.zip.includes(b);
