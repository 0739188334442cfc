/** A model's kind (model, adapter, prompt, rag-config, bundle, dataset) as a badge. */
export function KindBadge({ kind }: { kind: string }) {
  return <span className={`badge badge-kind badge-kind-${kind}`}>{kind}</span>;
}

/** Alias badges: `@champion`, with the version it holds when the row is a model. */
export function AliasBadges({ aliases }: { aliases: Record<string, number> | string[] }) {
  const entries: [string, number | null][] = Array.isArray(aliases) ? aliases.map((a) => [a, null]) : Object.entries(aliases);
  if (entries.length === 0) return null;
  return (
    <ul className="badges" aria-label="Aliases">
      {entries.map(([alias, version]) => (
        <li key={alias} className="badge badge-alias">
          @{alias}
          {version !== null ? ` → ${version}` : ''}
        </li>
      ))}
    </ul>
  );
}
