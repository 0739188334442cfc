import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { auditQuery, changeOf, filtersFrom, searchFor } from './audit-filters.js';

describe('audit filters', () => {
  it('reads the filters from the URL and writes them back with at, leaving out empty ones', () => {
    const f = filtersFrom('model=chatbot&action=alias.set&actor=+ci+&at=2026-03-08T14%3A32%3A00.000Z&other=1');
    assert.deepEqual(f, { model: 'chatbot', action: 'alias.set', actor: 'ci', since: '', until: '' });
    assert.equal(searchFor(f, '2026-03-08T14:32:00.000Z'), '?model=chatbot&action=alias.set&actor=ci&at=2026-03-08T14%3A32%3A00.000Z');
    assert.equal(searchFor(filtersFrom(''), null), '');
  });

  it('asks for the filters given, and for nothing else', () => {
    assert.deepEqual(auditQuery(filtersFrom(''), null), {});
    assert.deepEqual(auditQuery(filtersFrom('model=m&action=a&actor=x&since=2026-03-01T00:00:00.000Z&until=2026-03-02T00:00:00.000Z'), null), {
      model: 'm',
      action: 'a',
      actor: 'x',
      since: '2026-03-01T00:00:00.000Z',
      until: '2026-03-02T00:00:00.000Z',
    });
  });

  it('cuts the trail just after at, keeping an earlier until', () => {
    const at = '2026-03-08T14:32:00.000Z';
    assert.deepEqual(auditQuery(filtersFrom(''), at), { until: '2026-03-08T14:32:00.001Z' });
    assert.deepEqual(auditQuery(filtersFrom('until=2026-03-09T00:00:00.000Z'), at), { until: '2026-03-08T14:32:00.001Z' });
    assert.deepEqual(auditQuery(filtersFrom('until=2026-03-01T00:00:00.000Z'), at), { until: '2026-03-01T00:00:00.000Z' });
  });

  it('describes version changes, and says nothing of other shapes', () => {
    assert.equal(changeOf({ before: { version: 1 }, after: { version: 2 } }), 'version 1 → version 2');
    assert.equal(changeOf({ before: null, after: { version: 3 } }), 'none → version 3');
    assert.equal(changeOf({ before: { version: 3 }, after: null }), 'version 3 → none');
    assert.equal(changeOf({ before: { description: 'a' }, after: { description: 'b' } }), null);
    assert.equal(changeOf({ before: null, after: null }), null);
  });
});
