/**
 * Why rows of `results table --against KEY=VALUE` have no baseline, their Δ cells a dash: the
 * settings in which each differs from every baseline configuration (paired-diff.ts). A value no
 * baseline has is named, with the rule's reason where the baseline's rule refuses it (no BP run
 * can have train.update_every = 4: BP takes no in-clip updates, so a sweep of in-clip Sideways
 * against BP leaves those rows without one); a row whose values are each some baseline's, but not
 * together, by that combination.
 */
import { findRule, RULES, type Rule } from "../schedule/registry.js";
import type { PaperTable } from "./paper-table.js";
import { pairedSettings, settingText, type Against, type PairedCell } from "./paired-diff.js";

/** Settings a rule refuses (experiment-spec.ts), as runs.csv writes their values, and the rule's reason. */
const RULE_REFUSES: readonly { key: string; refuses: (rule: Rule, value: string) => boolean; why: (rule: Rule) => string }[] = [
  {
    key: "train.update_every",
    refuses: (rule, value) => !rule.inClipUpdates && value !== "clip",
    why: (rule) => `${rule.label} takes no in-clip updates; train.update_every other than clip applies to ${rulesWith((r) => r.inClipUpdates)}`,
  },
  {
    key: "train.weight_stashing",
    refuses: (rule, value) => !rule.weightStashing && value === "true",
    why: (rule) => `${rule.label} stashes no weights; train.weight_stashing applies to ${rulesWith((r) => r.weightStashing)}`,
  },
];

const rulesWith = (has: (r: Rule) => boolean): string => Object.values(RULES).filter(has).map((r) => r.name).join(", ");

/** Why no configuration with `against` can have `key` = `value`, where its rule refuses it; else null. */
function ruleReason(against: Against, key: string, value: string): string | null {
  const rule = against.key === "train.method" ? findRule(against.value) : null;
  if (rule === null) return null;
  const limit = RULE_REFUSES.find((l) => l.key === key && l.refuses(rule, value));
  return limit === undefined ? null : limit.why(rule);
}

const setting = (key: string, value: string) => `${key} = ${value === "" ? "(blank)" : value}`;

/**
 * The note on the rows of `cells` (pairedDifferences') without a baseline: for each setting value
 * that no baseline configuration has, "none has KEY = V" (and why, where the rule says), and for a
 * row whose values each are some baseline's, the combination none has; null where every row has one.
 */
export function noBaselineNote(table: PaperTable, against: Against, cells: ReadonlyMap<string, PairedCell>): string | null {
  const others = pairedSettings(table).filter((c) => c !== against.key);
  const baselines = table.rows.filter((r) => settingText(r.params[against.key]) === against.value);
  const clauses: string[] = [];
  const add = (clause: string) => {
    if (!clauses.includes(clause)) clauses.push(clause);
  };
  for (const row of table.rows.filter((r) => cells.get(r.configId) === null)) {
    const value = (c: string) => settingText(row.params[c]);
    const noneHas = others.filter((c) => baselines.every((b) => settingText(b.params[c]) !== value(c)));
    for (const c of noneHas) {
      const why = ruleReason(against, c, value(c));
      add(`none has ${setting(c, value(c))}${why === null ? "" : ` (${why})`}`);
    }
    if (noneHas.length > 0) continue;
    // Each of its values is some baseline's: the settings in which it differs from one, together.
    const apart = others.filter((c) => baselines.some((b) => settingText(b.params[c]) !== value(c)));
    add(`none has ${apart.map((c) => setting(c, value(c))).join(" with ")} (each is some baseline's, not together)`);
  }
  if (clauses.length === 0) return null;
  return `A dash in a Δ column: no configuration with ${against.key} = ${against.value} has that row's other settings: ${clauses.join("; ")}`;
}
