/** The part of jstat (no types of its own on npm) that src/results/paper-table.ts uses. */
declare module "jstat" {
  const jStat: {
    studentt: {
      /** The p-quantile of Student's t distribution with `dof` degrees of freedom. */
      inv(p: number, dof: number): number;
    };
  };
  export default jStat;
}
