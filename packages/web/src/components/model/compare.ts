import type { ManifestFile } from '@berth/core';

/** One row of a comparison: a key, its value in each compared version (undefined: absent), and whether they differ. */
export interface CompareRow<T> {
  key: string;
  values: (T | undefined)[];
  differs: boolean;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Rows of every key any of `records` has, sorted by key; differing rows are flagged so the view can show them first or marked. */
export function compareRecords<T>(records: readonly Readonly<Record<string, T>>[]): CompareRow<T>[] {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))].sort();
  return keys.map((key) => {
    const values = records.map((r) => (Object.hasOwn(r, key) ? r[key] : undefined));
    return { key, values, differs: values.some((v) => !same(v, values[0])) };
  });
}

/** The files of each version side by side by path: a file differs when its content (sha256) does, or it is missing somewhere. */
export function compareFiles(files: readonly (readonly ManifestFile[])[]): CompareRow<ManifestFile>[] {
  const byPath = files.map((list) => Object.fromEntries(list.map((f) => [f.path, f])));
  return compareRecords(byPath).map((row) => ({ ...row, differs: row.values.some((f) => f?.sha256 !== row.values[0]?.sha256) }));
}

/** The metric names a versions table can show as columns: every name the loaded rows have, sorted. */
export function metricNames(rows: Iterable<Readonly<Record<string, number>>>): string[] {
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) names.add(k);
  return [...names].sort();
}

/** A list kept in the URL (`?metrics=a,b`, `?compare=3,5`): split, trimmed, empty parts dropped, duplicates kept once. */
export function parseList(value: string | null): string[] {
  if (!value) return [];
  return [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
}

/** Version numbers from a URL list, in the order given; anything else is dropped. */
export function parseVersions(value: string | null): number[] {
  return parseList(value)
    .filter((s) => /^[1-9][0-9]{0,9}$/.test(s))
    .map(Number);
}

/** A value as a table cell shows it: numbers as written, strings bare, anything else as compact JSON, absence as an em dash. */
export function display(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  return JSON.stringify(value);
}

/** Bytes as people read them. */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
