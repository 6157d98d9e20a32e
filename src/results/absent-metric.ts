/**
 * Why a run has no value of a metric, where its name tells: top-5 and video-level accuracy are
 * measured only for some models, data and versions, so a blank runs.csv cell or an empty eval.csv
 * column of theirs is expected, and the table and the plots say so instead of a bare dash or an
 * error without a reason.
 */

/** The last sideways version that did not measure top-5 (CHANGELOG.md): it came in the version after. */
export const LAST_VERSION_WITHOUT_TOP5 = "0.1.0";

/** Why a run may have no `metric` (a runs.csv, eval.csv or metrics.csv column), or null where its name does not tell. */
export function whyAbsent(metric: string): string | null {
  const why: string[] = [];
  if (metric.includes("video")) why.push("video-level accuracy is measured on video-folder data only");
  if (metric.includes("top5")) why.push(`top-5 is measured only with more than 5 classes (with 5 or fewer it would be 1), by sideways versions after ${LAST_VERSION_WITHOUT_TOP5}`);
  return why.length === 0 ? null : why.join("; ");
}
