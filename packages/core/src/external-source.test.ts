import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from './errors.js';
import { checkExternalUri, isExternalSource, MAX_EXTERNAL_URI, notContentAddressed } from './external-source.js';

const refused = (uri: unknown, pattern: RegExp) =>
  assert.throws(
    () => checkExternalUri(uri),
    (e: unknown) => e instanceof BerthError && e.code === 'INVALID_ARGUMENT' && e.details.field === 'external_uri' && pattern.test(e.message),
  );

describe('isExternalSource', () => {
  it('says yes for every object store and file system scheme MLflow clients register from', () => {
    for (const uri of ['s3://b/m', 'gs://b/m', 'wasbs://c@a.blob.core.windows.net/m', 'hdfs://nn/m', 'dbfs:/m', 'http://h/m', 'HTTPS://h/m']) {
      assert.equal(isExternalSource(uri), true, uri);
    }
  });
  it("says no for Berth's own sources and anything without a known scheme", () => {
    for (const uri of ['runs:/abc/model', 'models:/m-1', 'mlflow-artifacts:/x', 'file:///tmp/m', '/tmp/m', 'dummy-source', '']) {
      assert.equal(isExternalSource(uri), false, uri);
    }
  });
});

describe('checkExternalUri', () => {
  it('returns a URI in an external store as it is', () => {
    assert.equal(checkExternalUri('s3://bucket/model'), 's3://bucket/model');
    assert.equal(checkExternalUri('dbfs:/FileStore/m'), 'dbfs:/FileStore/m');
    assert.equal(checkExternalUri('wasbs://container@acct.blob.core.windows.net/m'), 'wasbs://container@acct.blob.core.windows.net/m');
  });
  it('refuses what is not a string, is empty or is too long', () => {
    refused(42, /at most/);
    refused('', /at most/);
    refused(`s3://b/${'x'.repeat(MAX_EXTERNAL_URI)}`, /at most/);
  });
  it('refuses a URI outside the external stores, naming the schemes it takes', () => {
    refused('file:///tmp/m', /not in an external store: use one of s3:, gs:/);
  });
  it('refuses whitespace and control characters', () => {
    refused('s3://b/m odel', /whitespace or control/);
    refused('s3://b/m\u0000', /whitespace or control/);
  });
  it('refuses a scheme with no location after it', () => {
    refused('s3://', /names no location/);
    refused('dbfs:/', /names no location/);
  });
  it('refuses credentials in an http(s) URI', () => {
    refused('https://user:secret@host/m', /credentials/);
  });
});

describe('notContentAddressed', () => {
  it('is a FAILED_PRECONDITION naming the version, where its files are and how to pin them', () => {
    const e = notContentAddressed('chatbot:3', 's3://b/m', 'a bundle cannot pin it');
    assert.equal(e.code, 'FAILED_PRECONDITION');
    assert.match(e.message, /^chatbot:3 is an external version \(its files stay at s3:\/\/b\/m;.*so a bundle cannot pin it: push .*--model chatbot`/);
    assert.deepEqual(e.details, { version: 'chatbot:3', external_uri: 's3://b/m', content_addressed: false });
  });
});
