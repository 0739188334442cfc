import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as core from './index.js';

describe('@berth/core public surface', () => {
  it('exports the rules the server, SDK and CLI share', () => {
    for (const name of ['BerthError', 'HTTP_STATUS', 'EXIT_CODE', 'parseReference', 'manifestDigest', 'normalizeManifest', 'chainEvent', 'verifyChain', 'validateModelName', 'validateAliasName', 'validateFilePath', 'parseInstant', 'encodeCursor', 'VersionSchema']) {
      assert.ok(name in core, `${name} is exported`);
    }
    assert.equal(core.parseReference('chatbot@champion').name, 'chatbot');
  });
});
