import { type FormEvent, useEffect, useState } from 'react';
import { fromUtcInput, toUtcInput } from '../time/time';
import type { AuditFilters } from './audit-filters';

/** Actions the server records, offered as suggestions; any other action can be typed. */
const COMMON_ACTIONS = [
  'model.create',
  'version.create',
  'version.update',
  'version.stage',
  'alias.set',
  'alias.delete',
  'alias.freeze',
  'evaluation.recorded',
  'promotion.passed',
  'promotion.approved',
  'promotion.rejected',
  'promotion.rolled_back',
  'policy.applied',
  'deployment.applied',
  'token.create',
  'token.revoke',
];

/** The timeline's filters; submitting puts them in the URL, which the timeline reads. */
export function AuditFiltersForm({ value, onApply }: { value: AuditFilters; onApply(f: AuditFilters): void }) {
  const [draft, setDraft] = useState(value);
  const [since, setSince] = useState(value.since ? toUtcInput(value.since) : '');
  const [until, setUntil] = useState(value.until ? toUtcInput(value.until) : '');
  useEffect(() => {
    setDraft(value);
    setSince(value.since ? toUtcInput(value.since) : '');
    setUntil(value.until ? toUtcInput(value.until) : '');
  }, [value]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply({ ...draft, since: fromUtcInput(since) ?? '', until: fromUtcInput(until) ?? '' });
  };
  const text = (key: 'model' | 'action' | 'actor', label: string, extra: Record<string, string> = {}) => (
    <span className="field">
      <label htmlFor={`audit-${key}`}>{label}</label>
      <input id={`audit-${key}`} value={draft[key]} onChange={(e) => setDraft({ ...draft, [key]: e.target.value })} {...extra} />
    </span>
  );
  return (
    <form className="filters" onSubmit={submit} aria-label="Filter the audit trail">
      {text('model', 'Model')}
      {text('action', 'Action', { list: 'audit-actions' })}
      <datalist id="audit-actions">
        {COMMON_ACTIONS.map((a) => (
          <option key={a} value={a} />
        ))}
      </datalist>
      {text('actor', 'Actor')}
      <span className="field">
        <label htmlFor="audit-since">From (UTC)</label>
        <input id="audit-since" type="datetime-local" step="0.001" value={since} onChange={(e) => setSince(e.target.value)} />
      </span>
      <span className="field">
        <label htmlFor="audit-until">Until (UTC)</label>
        <input id="audit-until" type="datetime-local" step="0.001" value={until} onChange={(e) => setUntil(e.target.value)} />
      </span>
      <button type="submit">Filter</button>
    </form>
  );
}
