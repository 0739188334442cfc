import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { catalogHref, readCatalogState } from './catalog-url.js';
import { modelPath, versionPath } from '../../paths.js';

describe('catalog URLs', () => {
  it('reads q and kind from the query string, models by default', () => {
    assert.deepEqual(readCatalogState(''), { q: '', kind: 'models' });
    assert.deepEqual(readCatalogState('?q=tag%3Aenv%3Dprod&kind=versions'), { q: 'tag:env=prod', kind: 'versions' });
    assert.deepEqual(readCatalogState('?kind=runs'), { q: '', kind: 'models' });
  });

  it('writes q, kind and at, leaving defaults out', () => {
    assert.equal(catalogHref({ q: '', kind: 'models' }, null), '/');
    assert.equal(catalogHref({ q: ' name:chat* OR alias:champion ', kind: 'versions' }, null), '/?q=name%3Achat*+OR+alias%3Achampion&kind=versions');
    assert.equal(catalogHref({ q: '', kind: 'models' }, '2026-03-08T14:32:00.000Z'), '/?at=2026-03-08T14%3A32%3A00.000Z');
  });

  it('encodes a model name whole, its namespace slash too, as the page routes read it', () => {
    assert.equal(modelPath('my-team/chat bot'), '/models/my-team%2Fchat%20bot');
    assert.equal(versionPath('chatbot', 3), '/models/chatbot/versions/3');
  });
});
