import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as core from './index.js';
import * as audit from './audit-chain.js';
import * as canonical from './canonical-json.js';
import * as cursor from './cursor.js';
import * as digest from './digest.js';
import * as errors from './errors.js';
import * as manifest from './manifest.js';
import * as names from './names.js';
import * as reference from './reference.js';
import * as schemas from './schemas.js';
import * as time from './time.js';

describe('@berth/core public surface', () => {
  it('re-exports every runtime export of every module when imported as the package', () => {
    for (const mod of [audit, canonical, cursor, digest, errors, manifest, names, reference, schemas, time]) {
      for (const [name, value] of Object.entries(mod)) assert.equal((core as Record<string, unknown>)[name], value, name);
    }
  });
  it('exports the rules the server, SDK and CLI share', () => {
    for (const name of [
      'BerthError',
      'HTTP_STATUS',
      'EXIT_CODE',
      'parseReference',
      'formatReference',
      'manifestDigest',
      'normalizeManifest',
      'chainEvent',
      'verifyChain',
      'validateModelName',
      'validateAliasName',
      'validateFilePath',
      'parseInstant',
      'encodeCursor',
      'VersionSchema',
    ]) {
      assert.equal(
        typeof (core as Record<string, unknown>)[name],
        name.endsWith('Schema') || name.endsWith('_STATUS') || name === 'EXIT_CODE' ? 'object' : 'function',
        name,
      );
    }
    assert.deepEqual(core.parseReference('chatbot@champion'), { name: 'chatbot', selector: { kind: 'alias', alias: 'champion' } });
  });
});
