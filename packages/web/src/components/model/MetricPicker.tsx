/** The metric columns the user picks among the metric names the loaded versions have. */
export function MetricPicker({ names, picked, onChange }: { names: readonly string[]; picked: readonly string[]; onChange(next: string[]): void }) {
  if (names.length === 0) return <p className="muted">No evaluated metrics on these versions yet.</p>;
  const toggle = (name: string, on: boolean) => onChange(on ? [...picked, name] : picked.filter((p) => p !== name));
  return (
    <fieldset className="metric-picker">
      <legend>Metric columns</legend>
      {names.map((name) => (
        <label key={name}>
          <input type="checkbox" checked={picked.includes(name)} onChange={(e) => toggle(name, e.currentTarget.checked)} /> {name}
        </label>
      ))}
    </fieldset>
  );
}
