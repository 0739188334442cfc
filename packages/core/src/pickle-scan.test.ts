import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PICKLE_MAX_CHAINED, PickleScanner, type PickleSummary } from './pickle-scan.js';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function scan(data: Uint8Array, size = data.length || 1): PickleSummary {
  const s = new PickleScanner();
  for (let i = 0; i < data.length; i += size) s.push(data.subarray(i, i + size));
  return s.finish();
}

/**
 * Fixtures written by CPython's pickle (never loaded here): a torch.save-style state dict
 * (protocol 2: OrderedDict, _rebuild_tensor_v2, persistent ids naming FloatStorage), and plain
 * data with sets, bytes and bytearrays in protocols 0 and 5.
 */
const TORCH_STATE_DICT = hex(
  '800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710128580900000066632e776569676874710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71032828580700000073746f72616765710463746f7263680a466c6f617453746f726167650a71055801000000307106580300000063707571074b06747108514b004b024b038671094b014b0186710a8968002952710b74710c52710d580700000066632e62696173710e6803282868046805580100000031710f68074b02747110514b004b028571114b0185711289680029527113747114527115752e',
);
const PLAIN_P0 = hex(
  '63636f6c6c656374696f6e730a4f726465726564446963740a70300a28745270310a56610a70320a286c70330a49310a6146322e350a6156780a70340a61635f636f646563730a656e636f64650a70350a285679790a70360a566c6174696e310a70370a7470380a5270390a61284e4930310a747031300a617356620a7031310a635f5f6275696c74696e5f5f0a7365740a7031320a28286c7031330a49310a6149320a61747031340a527031350a732e',
);
const PLAIN_P5 = hex(
  '80059553000000000000008c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0161945d94284b014740040000000000008c01789443027979944e888694284b0191949601000000000000007a9465732e',
);

describe('PickleScanner', () => {
  it('passes a torch state dict when it imports only allowed globals, whatever the chunking', () => {
    for (const size of [1, 3, 1000]) {
      assert.deepEqual(scan(TORCH_STATE_DICT, size), {
        format: 'pickle',
        pickles: 1,
        globals: ['collections.OrderedDict', 'torch.FloatStorage', 'torch._utils._rebuild_tensor_v2'],
        unsafe_globals: [],
      });
    }
  });
  it('passes plain data in protocols 0 and 5', () => {
    assert.deepEqual(scan(PLAIN_P0).unsafe_globals, []);
    assert.deepEqual(scan(PLAIN_P0).globals, ['__builtin__.set', '_codecs.encode', 'collections.OrderedDict']);
    assert.equal(scan(PLAIN_P0).problems, undefined);
    assert.deepEqual(scan(PLAIN_P5), { format: 'pickle', pickles: 1, globals: ['collections.OrderedDict'], unsafe_globals: [] });
  });
  it('flags os.system reached through GLOBAL', () => {
    const s = scan(bytes("cos\nsystem\n(S'echo pwned'\ntR."));
    assert.deepEqual(s.unsafe_globals, ['os.system']);
    assert.ok(PickleScanner.unsafe(s));
  });
  it('flags builtins.eval reached through STACK_GLOBAL', () => {
    const s = scan(hex('8004951c000000000000008c086275696c74696e73948c046576616c9493948c03312b3194859452942e'));
    assert.deepEqual(s.unsafe_globals, ['builtins.eval']);
  });
  it('flags subprocess.Popen reached through INST', () => {
    assert.deepEqual(scan(bytes("(S'ls'\nisubprocess\nPopen\n.")).unsafe_globals, ['subprocess.Popen']);
  });
  it('flags runpy._run_code called by REDUCE on a memoized name, and STACK_GLOBAL on memoized strings', () => {
    assert.deepEqual(scan(bytes('\x80\x02crunpy\n_run_code\nq\x000h\x00X\x04\x00\x00\x00code}\x86R.')).unsafe_globals, ['runpy._run_code']);
    const memoized = bytes('\x80\x04\x8c\x05runpy\x94\x8c\x09_run_code\x94\x30\x30h\x00h\x01\x93\x94X\x04\x00\x00\x00code}\x86R.');
    assert.deepEqual(scan(memoized, 1).unsafe_globals, ['runpy._run_code']);
    const viaLongGet = bytes('\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x30\x30j\x00\x00\x00\x00j\x01\x00\x00\x00\x93.');
    assert.deepEqual(scan(viaLongGet).unsafe_globals, ['os.system']);
    const viaPut = bytes("(S'os'\np7\n0S'system'\np8\n0g7\ng8\n\x93.");
    assert.deepEqual(scan(viaPut).unsafe_globals, ['os.system']);
  });
  it('flags STACK_GLOBAL on operands that are not strings', () => {
    const s = scan(bytes('\x80\x04K\x01K\x02\x93.'));
    assert.deepEqual(s.problems, ['STACK_GLOBAL on operands that are not plain strings']);
    assert.ok(PickleScanner.unsafe(s));
  });
  it('flags an unknown opcode, a truncated stream and malformed stacks', () => {
    assert.match(scan(bytes('\x80\x02\xff')).problems?.[0] ?? '', /unknown opcode 0xff/);
    assert.match(scan(bytes('\x80\x02cos\nsys')).problems?.[0] ?? '', /truncated/);
    assert.match(scan(new Uint8Array()).problems?.[0] ?? '', /truncated/);
    assert.match(scan(bytes('\x80\x02R.')).problems?.[0] ?? '', /stack underflow/);
    assert.match(scan(bytes('\x80\x02t.')).problems?.[0] ?? '', /MARK that was never set/);
    assert.match(scan(bytes('\x80\x02h\x05.')).problems?.[0] ?? '', /memo 5 is read before it is written/);
    assert.match(scan(bytes('\x80\x02q\x00.')).problems?.[0] ?? '', /memoizing an empty stack/);
    assert.match(scan(bytes('\x80\x09N.')).problems?.[0] ?? '', /unsupported pickle protocol 9/);
    assert.match(scan(bytes(`S${'x'.repeat(70_000)}\n.`)).problems?.[0] ?? '', /longer than 65536 bytes/);
  });
  it('reports extension codes, which name globals it cannot see', () => {
    assert.deepEqual(scan(bytes('\x80\x02\x82\x07.')).unsafe_globals, ['<extension code 7>']);
    assert.deepEqual(scan(bytes('\x80\x02\x83\x07\x01.')).unsafe_globals, ['<extension code 263>']);
  });
  it('walks every opcode with its argument', () => {
    const all = bytes(
      '\x80\x05\x95\x00\x00\x00\x00\x00\x00\x00\x00' +
        '(I1\nF1.5\nL2L\nJ\x01\x00\x00\x00K\x01M\x01\x00G' +
        '\x00'.repeat(8) +
        'N\x88\x89' +
        '\x8a\x01\x01\x8b\x01\x00\x00\x00\x01' +
        'T\x01\x00\x00\x00aU\x01a' +
        'X\x01\x00\x00\x00a\x8d\x01\x00\x00\x00\x00\x00\x00\x00a' +
        'B\x01\x00\x00\x00aC\x01a\x8e\x01\x00\x00\x00\x00\x00\x00\x00a\x96\x01\x00\x00\x00\x00\x00\x00\x00a' +
        'Pid\nQ' +
        ')]}\x8f' +
        'l' +
        '2' +
        '0' +
        '(N1' +
        ']N\x85N\x86\x8f(K\x01\x90(K\x01\x91N\x87' +
        'ccollections\nOrderedDict\n)\x81ccollections\nOrderedDict\n)}\x92' +
        '}(K\x01K\x02u}K\x01K\x02s](K\x01e]K\x01a' +
        '(ccollections\nOrderedDict\no' +
        '(d' +
        '}Nb' +
        '\x97\x98' +
        '(t' +
        '.',
    );
    assert.deepEqual(scan(all, 2), { format: 'pickle', pickles: 1, globals: ['collections.OrderedDict'], unsafe_globals: [] });
  });
  it('reads chained pickles as torch legacy files hold them, and stops at raw bytes after them', () => {
    const one = bytes('\x80\x02N.');
    const evilLater = bytes('\x80\x02N.\x80\x02cos\nsystem\n.');
    assert.deepEqual(scan(evilLater).unsafe_globals, ['os.system']);
    const legacy = new Uint8Array([...Array.from({ length: PICKLE_MAX_CHAINED }, () => [...one]).flat(), 0x80, 0x02, 0xff, 0xff]);
    const s = scan(legacy);
    assert.equal(s.pickles, PICKLE_MAX_CHAINED);
    assert.equal(s.problems, undefined);
    assert.deepEqual(scan(new Uint8Array([...one, 0x00, 0x01])), { format: 'pickle', pickles: 1, globals: [], unsafe_globals: [] });
  });
  it('says a head is plausibly a pickle only when it walks cleanly to an import or a STOP', () => {
    const p = (s: string) => {
      const sc = new PickleScanner();
      sc.push(bytes(s));
      return sc.plausible;
    };
    assert.equal(p("(S'ls'\nisubprocess\nPopen\n."), true);
    assert.equal(p('N.'), true);
    assert.equal(p('hello world, this is text'), false);
    assert.equal(p('(('), false);
  });
});
