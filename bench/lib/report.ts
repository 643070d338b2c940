/**
 * What a benchmark returns and how it is printed: a table of metric, value, baseline (measured side
 * by side in the same run), ratio value/baseline, and what the baseline is.
 *
 * @module
 */

import { ratio } from "./stats.ts";

/** Unit of a reported value. */
export type Unit = "ms" | "MiB" | "count";

/** A baseline measured in the same run as the value. */
export interface Baseline {
  /** The baseline's value, in the row's unit. */
  value: number;
  /** What the baseline is (short). */
  label: string;
}

/** One line of a report. */
export interface ReportRow {
  /** What is measured. */
  metric: string;
  /** The measurement. */
  value: number;
  /** Unit of value and baseline. */
  unit: Unit;
  /** The side-by-side baseline, when the metric has one. */
  baseline?: Baseline;
}

/** A benchmark's result. */
export interface BenchReport {
  /** Heading printed above the table. */
  title: string;
  /** The table. */
  rows: ReportRow[];
  /** Lines printed under the table (setup facts, how figures were obtained). */
  notes: string[];
}

/** A benchmark that `bench/run.ts` runs: a module in bench/ exports one as `benchmark`. */
export interface Benchmark {
  /** Short name, used to select it on the command line. */
  name: string;
  /** One sentence on what it measures. */
  description: string;
  /** Runs it and returns the report; throws when the setup does not hold. */
  run(): Promise<BenchReport>;
}

/** `value` in `unit`, rounded for reading: counts as integers (or one decimal when fractional). */
export function formatValue(value: number, unit: Unit): string {
  if (unit === "count") return Number.isInteger(value) ? String(value) : value.toFixed(1);
  const digits = Math.abs(value) >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${unit}`;
}

/** A ratio as `1.23x`, or `-` when there is none. */
export function formatRatio(r: number | undefined): string {
  if (r === undefined) return "-";
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

/** The report as a titled text table followed by its notes. */
export function formatReport(report: BenchReport): string {
  const header = ["metric", "value", "baseline", "ratio", "baseline is"];
  const cells = report.rows.map((row) => [
    row.metric,
    formatValue(row.value, row.unit),
    row.baseline ? formatValue(row.baseline.value, row.unit) : "-",
    formatRatio(row.baseline ? ratio(row.value, row.baseline.value) : undefined),
    row.baseline?.label ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const numeric = [false, true, true, true, false];
  const line = (c: string[]) =>
    c.map((s, i) => numeric[i] ? s.padStart(widths[i]) : s.padEnd(widths[i])).join(" | ").trimEnd();
  const out = [
    report.title,
    "=".repeat(report.title.length),
    line(header),
    widths.map((w) => "-".repeat(w)).join("-|-"),
    ...cells.map(line),
  ];
  if (report.notes.length > 0) out.push("", ...report.notes.map((n) => `* ${n}`));
  return out.join("\n");
}
