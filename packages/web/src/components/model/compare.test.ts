import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
// The root type-check reads tests with Node's resolution, which wants the extension the rest of the UI leaves out.
import { compareFiles, compareRecords, display, formatBytes, metricNames, parseList, parseVersions } from './compare.js';

const f = (path: string, sha256: string, size = 1) => ({ path, sha256, size });

describe('compare', () => {
  it('lines up every key of the records and flags the ones that differ', () => {
    assert.deepEqual(
      compareRecords([
        { accuracy: 0.9, f1: 0.8 },
        { accuracy: 0.9, f1: 0.7, loss: 0.1 },
      ]),
      [
        { key: 'accuracy', values: [0.9, 0.9], differs: false },
        { key: 'f1', values: [0.8, 0.7], differs: true },
        { key: 'loss', values: [undefined, 0.1], differs: true },
      ],
    );
  });

  it('compares nested metadata by value, not identity', () => {
    const rows = compareRecords<unknown>([{ params: { lr: 1, layers: [1, 2] } }, { params: { lr: 1, layers: [1, 2] } }, { params: { lr: 2 } }]);
    assert.deepEqual(rows, [{ key: 'params', values: [{ lr: 1, layers: [1, 2] }, { lr: 1, layers: [1, 2] }, { lr: 2 }], differs: true }]);
    assert.equal(compareRecords<unknown>([{ a: { x: 1 } }, { a: { x: 1 } }])[0]?.differs, false);
  });

  it('sets files side by side by path and flags changed, added and removed ones', () => {
    const rows = compareFiles([
      [f('config.json', 'aa'), f('model.bin', 'bb'), f('old.txt', 'cc')],
      [f('config.json', 'aa'), f('model.bin', 'dd'), f('new.txt', 'ee')],
    ]);
    assert.deepEqual(
      rows.map((r) => [r.key, r.differs]),
      [
        ['config.json', false],
        ['model.bin', true],
        ['new.txt', true],
        ['old.txt', true],
      ],
    );
    assert.equal(rows[2]?.values[0], undefined);
  });

  it('collects the metric names of the loaded rows, sorted, once each', () => {
    assert.deepEqual(metricNames([{ f1: 1, accuracy: 2 }, {}, { accuracy: 3, p99_latency_ms: 4 }]), ['accuracy', 'f1', 'p99_latency_ms']);
  });

  it('reads lists and version numbers from the URL, dropping what does not belong', () => {
    assert.deepEqual(parseList(null), []);
    assert.deepEqual(parseList(' accuracy, ,f1,accuracy'), ['accuracy', 'f1']);
    assert.deepEqual(parseVersions('3,x,0,5,3,-1,1.5'), [3, 5]);
  });

  it('shows values as a cell does', () => {
    assert.deepEqual(
      [display(undefined), display('x'), display(3), display(0.123456789), display({ a: 1 }), display(null)],
      ['—', 'x', '3', '0.123457', '{"a":1}', 'null'],
    );
    assert.deepEqual([formatBytes(12), formatBytes(2048), formatBytes(5 * 1024 ** 3)], ['12 B', '2.0 KB', '5.0 GB']);
  });
});
