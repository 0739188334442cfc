import { type FormEvent, useEffect, useRef, useState } from 'react';
import { client } from '../../api';
import { ApiError } from '../common/ApiError';
import { useAction } from '../../use-action';

export interface RollbackTarget {
  model: string;
  alias: string;
  /** Bumped by "Roll back…" on a history row, so the same target twice still focuses the reason. */
  nonce: number;
}

/** One-click rollback: the alias goes back to the version it held before its current holder, with a reason. */
export function RollbackForm({ target, onDone }: { target: RollbackTarget | null; onDone(message: string): void }) {
  const [model, setModel] = useState('');
  const [alias, setAlias] = useState('champion');
  const [reason, setReason] = useState('');
  const action = useAction();
  const reasonRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (!target) return;
    setModel(target.model);
    setAlias(target.alias);
    reasonRef.current?.focus();
  }, [target]);

  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run(async () => {
      const p = await client().rollback(model.trim(), alias.trim(), reason.trim());
      setReason('');
      onDone(`Rolled back ${p.model}@${p.alias} from version ${p.previous_version} to version ${p.version}.`);
    });
  }

  return (
    <form className="rollback" onSubmit={submit}>
      <label htmlFor="rollback-model">Model</label>
      <input id="rollback-model" value={model} onChange={(e) => setModel(e.target.value)} required />
      <label htmlFor="rollback-alias">Alias</label>
      <input id="rollback-alias" value={alias} onChange={(e) => setAlias(e.target.value)} required />
      <label htmlFor="rollback-reason">Reason</label>
      <input id="rollback-reason" ref={reasonRef} value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={1000} />
      <button type="submit" disabled={action.busy}>
        Roll back
      </button>
      <ApiError error={action.error} />
    </form>
  );
}
