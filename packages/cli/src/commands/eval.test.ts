import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { numericMetrics, runSource, shellQuote } from './eval.js';

describe('shellQuote', () => {
  it('keeps plain paths as they are and makes any other one a single shell word', () => {
    assert.equal(shellQuote('/tmp/berth-eval-x1/model'), '/tmp/berth-eval-x1/model');
    for (const path of ["/tmp/it's here/model", '/tmp/a b/$HOME/`x`/"q"', '/tmp/semi;colon&amp|pipe']) {
      // what the shell hands the command is the path itself
      assert.equal(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(path)}`], { encoding: 'utf8' }), path);
    }
  });
});

describe('runSource', () => {
  it('names the command, shortened to the 500 characters the server keeps', () => {
    assert.equal(runSource('python eval.py'), 'berth eval run: python eval.py');
    const long = runSource(`python eval.py ${'x'.repeat(1000)}`);
    assert.equal(long.length, 500);
    assert.ok(long.startsWith('berth eval run: python eval.py xxx') && long.endsWith('…'));
  });
});

describe('numericMetrics', () => {
  it('takes an object of finite numbers and names every key that is not one', () => {
    assert.deepEqual(numericMetrics({ accuracy: 0.9, n: 3 }, 'f'), { accuracy: 0.9, n: 3 });
    assert.throws(() => numericMetrics({ a: '1', b: true, c: 2 }, 'f'), /f: every metric must be a finite number; not: a \("1"\), b \(true\)/);
    assert.throws(() => numericMetrics({}, 'f'), /f holds no metrics/);
    assert.throws(() => numericMetrics(null, 'f'), /f must hold a JSON object of metrics/);
    assert.throws(() => numericMetrics([1], 'f'), /f must hold a JSON object of metrics/);
  });
});
