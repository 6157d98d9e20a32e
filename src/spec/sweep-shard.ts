/**
 * A sweep process's `--shard i/n` and which of the sweep's runs it runs: those whose index is
 * i mod n. Said once here, for the runs a shard takes (sweep-runner.ts) and for the shards that
 * would take the runs a plan leaves to none (sweep-plan.ts).
 */
export interface Shard {
  index: number;
  count: number;
}

/** The shard i of --shard i/`count` that runs the sweep's run of index `runIndex`. */
export const shardOfRun = (runIndex: number, count: number): number => runIndex % count;
