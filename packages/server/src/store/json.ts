/** JSON columns are text in both dialects; parse defensively so one bad row is not a crash. */
export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/**
 * The two times every row has, as numbers: PostgreSQL returns \`bigint\` columns as text, and
 * records hold milliseconds.
 */
export function rowTimes(row: { created_at: number; updated_at: number }): { created_at: number; updated_at: number } {
  return { created_at: Number(row.created_at), updated_at: Number(row.updated_at) };
}

/** A nullable \`bigint\` column as a number (PostgreSQL returns it as text). */
export function nullableNumber(v: number | null): number | null {
  return v === null ? null : Number(v);
}

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}
