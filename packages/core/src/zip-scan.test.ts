import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, zipSync } from 'fflate';
import { ZIP_INFLATE_MAX_BYTES, ZipScanner, type ZipSummary } from './zip-scan.js';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** torch.save's data.pkl of a two-tensor state dict, written by CPython's pickle. */
const STATE_DICT = hex(
  '800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710128580900000066632e776569676874710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71032828580700000073746f72616765710463746f7263680a466c6f617453746f726167650a71055801000000307106580300000063707571074b06747108514b004b024b038671094b014b0186710a8968002952710b74710c52710d580700000066632e62696173710e6803282868046805580100000031710f68074b02747110514b004b028571114b0185711289680029527113747114527115752e',
);
const EVIL = bytes("cos\nsystem\n(S'echo pwned'\ntR.");

function scan(data: Uint8Array, size = 4096): ZipSummary {
  const s = new ZipScanner();
  for (let i = 0; i < data.length; i += size) s.push(data.subarray(i, i + size));
  return s.finish();
}

/** A torch-like checkpoint: stored entries (level 0) as torch writes them, or deflated ones. */
function checkpoint(pkl: Uint8Array, level: 0 | 6 = 0): Uint8Array {
  return zipSync({ 'archive/data.pkl': [pkl, { level }], 'archive/data/0': [new Uint8Array(24), { level: 0 }], 'archive/version': [bytes('3\n'), { level }] });
}

describe('ZipScanner', () => {
  it('scans the pickle of a torch zip checkpoint, stored or deflated, and skips the tensor bytes', () => {
    for (const level of [0, 6] as const) {
      for (const size of [1, 13, 1 << 20]) {
        const s = scan(checkpoint(STATE_DICT, level), size);
        assert.equal(s.entries, 3);
        assert.deepEqual(s.unsafe_globals, []);
        assert.equal(s.problems, undefined);
        assert.deepEqual(
          s.pickles.map((p) => [p.path, p.globals.length]),
          [['archive/data.pkl', 3]],
        );
      }
    }
  });
  it('flags a malicious pickle nested in the zip', () => {
    for (const level of [0, 6] as const) assert.deepEqual(scan(checkpoint(EVIL, level)).unsafe_globals, ['os.system']);
  });
  it('flags a zip bomb by its inflated size, stops inflating, and calls the pickle not fully scanned', () => {
    const zeros = new Uint8Array(4 * 1024 * 1024);
    const zip = zipSync({ 'archive/data.pkl': [zeros, { level: 9 }] });
    // Lie about the inflated size in the local header, so only the inflating can tell.
    new DataView(zip.buffer).setUint32(22, 10, true);
    const s = scan(zip);
    assert.match(s.problems?.[0] ?? '', /zip bomb: entry "archive\/data.pkl" inflates past \d+ bytes/);
    assert.ok(s.pickles[0]?.problems?.includes('not fully scanned'));
    assert.ok(ZIP_INFLATE_MAX_BYTES > zeros.length);
  });
  it('flags an entry whose declared size is a bomb without inflating it', () => {
    const zip = zipSync({ 'big.bin': [new Uint8Array(4 * 1024 * 1024), { level: 9 }] });
    assert.match(scan(zip).problems?.[0] ?? '', /zip bomb: entry "big.bin" declares 4194304 bytes/);
  });
  it('flags a truncated archive, a corrupt deflate stream and bytes that are no entry', () => {
    const zip = checkpoint(STATE_DICT);
    assert.match(scan(zip.subarray(0, 100)).problems?.[0] ?? '', /truncated: the archive ends inside entry "archive\/data.pkl"/);
    assert.match(scan(zip.subarray(0, 10)).problems?.[0] ?? '', /ends inside a header/);
    assert.match(
      scan(new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...new Uint8Array(26), 1, 2, 3, 4])).problems?.[0] ?? '',
      /unexpected bytes where a zip entry should start/,
    );
    const bad = zipSync({ 'a.pkl': [deflateSync(STATE_DICT), { level: 0 }] });
    new DataView(bad.buffer).setUint16(8, 8, true);
    bad.set([0xff, 0xff, 0xff], 30 + 5);
    assert.match(scan(bad).problems?.join() ?? '', /entry "a.pkl" does not inflate/);
  });
  it('flags pickles it cannot read: encrypted, another method, or sizes only in a data descriptor', () => {
    const withFlags = (flags: number, method: number) => {
      const zip = zipSync({ 'a.pkl': [STATE_DICT, { level: 0 }] });
      const v = new DataView(zip.buffer);
      v.setUint16(6, flags, true);
      v.setUint16(8, method, true);
      return zip;
    };
    assert.match(scan(withFlags(1, 0)).problems?.[0] ?? '', /"a.pkl" is encrypted/);
    assert.match(scan(withFlags(0, 12)).problems?.[0] ?? '', /"a.pkl" uses compression method 12/);
    const streamed = withFlags(8, 0);
    new DataView(streamed.buffer).setUint32(18, 0, true);
    assert.match(scan(streamed).problems?.[0] ?? '', /no sizes in its header \(a streamed zip\)/);
  });
  it('skips data descriptors, with or without their signature, and reads zip64 sizes', () => {
    const pkl = STATE_DICT;
    const name = bytes('archive/data.pkl');
    const header = (flags: number, csize: number, extra: Uint8Array) => {
      const h = new Uint8Array(30);
      const v = new DataView(h.buffer);
      v.setUint32(0, 0x04034b50, true);
      v.setUint16(6, flags, true);
      v.setUint32(18, csize, true);
      v.setUint32(22, csize, true);
      v.setUint16(26, name.length, true);
      v.setUint16(28, extra.length, true);
      return [...h, ...name, ...extra];
    };
    const zip64 = new Uint8Array(20);
    const z = new DataView(zip64.buffer);
    z.setUint16(0, 1, true);
    z.setUint16(2, 16, true);
    z.setUint32(4, pkl.length, true);
    z.setUint32(12, pkl.length, true);
    const other = new Uint8Array([9, 0, 0, 0]);
    const end = [0x50, 0x4b, 0x05, 0x06];
    const signed = [0x50, 0x4b, 0x07, 0x08, ...new Uint8Array(12)];
    const unsigned = [...new Uint8Array(4), 1, 0, 0, 0, ...new Uint8Array(4)];
    const archive = new Uint8Array([
      ...header(8, pkl.length, new Uint8Array()),
      ...pkl,
      ...signed,
      ...header(8, pkl.length, other),
      ...pkl,
      ...unsigned,
      ...header(0, 0xffffffff, new Uint8Array([...other, ...zip64])),
      ...pkl,
      ...end,
    ]);
    const s = scan(archive, 7);
    assert.equal(s.problems, undefined);
    assert.equal(s.entries, 3);
    assert.equal(s.pickles.length, 3);
  });
});
