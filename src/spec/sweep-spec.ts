/**
 * The `sweep:` section of an experiment file. Keys are dotted experiment keys (the same as
 * command-line overrides); the values they take are checked by validating every expanded run.
 *
 *   sweep:
 *     grid: { train.method: [bp, sideways], train.optimizer.lr: [0.01, 0.1] }   # cartesian product
 *     zip: { data.clip_length: [16, 8], train.batch_size: [4, 8] }              # varied together
 *     random: { n: 4, seed: 0, params: { train.optimizer.lr: { dist: log_uniform, low: 1e-4, high: 0.1 } } }
 *     seeds: [0, 1, 2]                   # replicates of every configuration (or a count: 3 = 0,1,2)
 */
import { z } from "zod";

export const DottedKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/, "a dotted key such as train.optimizer.lr");

const ValueList = z.array(z.unknown()).min(1);

export const RandomParam = z.discriminatedUnion("dist", [
  z.strictObject({ dist: z.literal("uniform"), low: z.number(), high: z.number() }),
  z.strictObject({ dist: z.literal("log_uniform"), low: z.number().positive(), high: z.number().positive() }),
  z.strictObject({ dist: z.literal("int_uniform"), low: z.number().int(), high: z.number().int() }),
  z.strictObject({ dist: z.literal("choice"), values: ValueList }),
]).superRefine((p, ctx) => {
  if (p.dist !== "choice" && !(p.low < p.high))
    ctx.addIssue({ code: "custom", path: ["high"], message: `expected high > low (${p.low})` });
});
export type RandomParam = z.infer<typeof RandomParam>;

export const RandomSweepSpec = z.strictObject({
  n: z.number().int().min(1).max(100_000),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  params: z.record(DottedKey, RandomParam),
});

export const SweepSpec = z.strictObject({
  grid: z.record(DottedKey, ValueList).default({}),
  zip: z.record(DottedKey, ValueList).default({}),
  random: RandomSweepSpec.nullable().default(null),
  // The description is what any bad value is told (src/spec/spec-issues.ts): 0 and 'abc' alike.
  seeds: z
    .union([z.array(z.number().int().min(0).max(2 ** 31 - 1)).min(1), z.number().int().min(1).max(10_000)])
    .describe("a non-empty list of seeds (integers from 0 to 2147483647), or how many (an integer from 1 to 10000: seeds 0 to n-1)")
    .nullable()
    .default(null),
});
export type SweepSpec = z.infer<typeof SweepSpec>;
