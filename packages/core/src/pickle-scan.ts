/**
 * Walks a pickle's opcodes as the bytes stream past, without executing anything, and lists
 * the globals it imports (GLOBAL, INST, STACK_GLOBAL, whose module and name are resolved from
 * the strings on a simulated stack and memo). Loading a pickle can call any global it imports,
 * so anything outside `SAFE_PICKLE_GLOBALS` makes it unsafe; so do an unknown opcode, a
 * truncated stream or a STACK_GLOBAL whose operands are not plain strings. Opcode table:
 * CPython `Lib/pickletools.py` (protocols 0–5).
 *
 * Torch's legacy (non-zip) format is several pickles in a row (magic, protocol, sys info, the
 * object, the storage keys) followed by raw tensor bytes: after a STOP, the walk goes on while
 * a new pickle starts (PROTO), up to `PICKLE_MAX_CHAINED`, the number torch.load unpickles.
 */

/**
 * The globals a weights pickle needs: torch's tensor and parameter rebuilds and storage types,
 * dtypes, OrderedDict, and numpy's array reconstruction. Each only builds data from its
 * arguments; none can reach the file system, a process or the interpreter.
 */
export const SAFE_PICKLE_GLOBALS: ReadonlySet<string> = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type_v2',
  'torch.Size',
  'torch.device',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  'torch.UntypedStorage',
  ...['Float', 'Double', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool', 'ComplexFloat', 'ComplexDouble'].map((t) => `torch.${t}Storage`),
  ...['float16', 'float32', 'float64', 'bfloat16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool', 'complex64', 'complex128'].map((t) => `torch.${t}`),
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
  'numpy.ndarray',
  'numpy.dtype',
  '_codecs.encode',
  'builtins.set',
  'builtins.frozenset',
  'builtins.bytearray',
  'builtins.complex',
  'builtins.slice',
  '__builtin__.set',
]);

/** Pickles read back to back (torch's legacy format has five). */
export const PICKLE_MAX_CHAINED = 5;
/** Longest newline-terminated argument (a protocol 0 module or name). */
const LINE_MAX = 64 * 1024;
/** Longest string kept as a possible STACK_GLOBAL operand; longer ones are only skipped. */
const NAME_MAX = 1024;
/** Memo entries tracked; a pickle memoizing more is unsafe (and certainly not a state dict's). */
const MEMO_MAX = 4_000_000;

export interface PickleSummary {
  format: 'pickle';
  /** Pickles read (chained ones included). */
  pickles: number;
  /** Every global imported, allowed or not, sorted, at most 200. */
  globals: string[];
  /** The globals outside the allowlist. */
  unsafe_globals: string[];
  /** Why the stream could not be fully vouched for (unknown opcode, truncated, ...). */
  problems?: string[];
}

/** How an opcode's argument is read. */
type Arg =
  | { kind: 'none' }
  | { kind: 'fixed'; bytes: number }
  | { kind: 'line'; lines: 1 | 2 }
  /** A length prefix of `bytes` bytes, then that many bytes; `text` when the payload is a string. */
  | { kind: 'counted'; bytes: 1 | 4 | 8; text: boolean };

const NONE: Arg = { kind: 'none' };
const fixed = (bytes: number): Arg => ({ kind: 'fixed', bytes });
const counted = (bytes: 1 | 4 | 8, text: boolean): Arg => ({ kind: 'counted', bytes, text });
const LINE: Arg = { kind: 'line', lines: 1 };
const TWO_LINES: Arg = { kind: 'line', lines: 2 };

const ARGS: ReadonlyMap<number, Arg> = new Map<number, Arg>(
  (
    [
      ['(', NONE], // MARK
      ['.', NONE], // STOP
      ['0', NONE], // POP
      ['1', NONE], // POP_MARK
      ['2', NONE], // DUP
      ['F', LINE], // FLOAT
      ['I', LINE], // INT
      ['J', fixed(4)], // BININT
      ['K', fixed(1)], // BININT1
      ['L', LINE], // LONG
      ['M', fixed(2)], // BININT2
      ['N', NONE], // NONE
      ['P', LINE], // PERSID
      ['Q', NONE], // BINPERSID
      ['R', NONE], // REDUCE
      ['S', LINE], // STRING
      ['T', counted(4, true)], // BINSTRING
      ['U', counted(1, true)], // SHORT_BINSTRING
      ['V', LINE], // UNICODE
      ['X', counted(4, true)], // BINUNICODE
      ['a', NONE], // APPEND
      ['b', NONE], // BUILD
      ['c', TWO_LINES], // GLOBAL
      ['d', NONE], // DICT
      ['}', NONE], // EMPTY_DICT
      ['e', NONE], // APPENDS
      ['g', LINE], // GET
      ['h', fixed(1)], // BINGET
      ['i', TWO_LINES], // INST
      ['j', fixed(4)], // LONG_BINGET
      ['l', NONE], // LIST
      [']', NONE], // EMPTY_LIST
      ['o', NONE], // OBJ
      ['p', LINE], // PUT
      ['q', fixed(1)], // BINPUT
      ['r', fixed(4)], // LONG_BINPUT
      ['s', NONE], // SETITEM
      ['t', NONE], // TUPLE
      [')', NONE], // EMPTY_TUPLE
      ['u', NONE], // SETITEMS
      ['G', fixed(8)], // BINFLOAT
      ['\x80', fixed(1)], // PROTO
      ['\x81', NONE], // NEWOBJ
      ['\x82', fixed(1)], // EXT1
      ['\x83', fixed(2)], // EXT2
      ['\x84', fixed(4)], // EXT4
      ['\x85', NONE], // TUPLE1
      ['\x86', NONE], // TUPLE2
      ['\x87', NONE], // TUPLE3
      ['\x88', NONE], // NEWTRUE
      ['\x89', NONE], // NEWFALSE
      ['\x8a', counted(1, false)], // LONG1
      ['\x8b', counted(4, false)], // LONG4
      ['\x8c', counted(1, true)], // SHORT_BINUNICODE
      ['\x8d', counted(8, true)], // BINUNICODE8
      ['\x8e', counted(8, false)], // BINBYTES8
      ['\x8f', NONE], // EMPTY_SET
      ['\x90', NONE], // ADDITEMS
      ['\x91', NONE], // FROZENSET
      ['\x92', NONE], // NEWOBJ_EX
      ['\x93', NONE], // STACK_GLOBAL
      ['\x94', NONE], // MEMOIZE
      ['\x95', fixed(8)], // FRAME
      ['\x96', counted(8, false)], // BYTEARRAY8
      ['\x97', NONE], // NEXT_BUFFER
      ['\x98', NONE], // READONLY_BUFFER
      ['B', counted(4, false)], // BINBYTES
      ['C', counted(1, false)], // SHORT_BINBYTES
    ] as Array<[string, Arg]>
  ).map(([op, arg]) => [op.charCodeAt(0), arg]),
);

/** What the simulated stack knows of a value: its text when it is a string, nothing else. */
type Value = { text?: string };
const OTHER: Value = {};

/** Pops to the last MARK; how many values pops then pushes once that frame is gone. */
const TO_MARK_PUSH = new Map<number, number>(
  [
    ['t', 1],
    ['l', 1],
    ['d', 1],
    ['e', 0],
    ['u', 0],
    ['\x90', 0],
    ['\x91', 1],
    ['o', 1],
    ['i', 1],
    ['1', 0],
  ].map(([op, push]) => [(op as string).charCodeAt(0), push as number]),
);

/** Fixed stack effects: [pops, pushes]. */
const EFFECTS = new Map<number, [number, number]>(
  (
    [
      ['0', 1, 0],
      ['R', 2, 1],
      ['\x81', 2, 1],
      ['\x92', 3, 1],
      ['a', 1, 0],
      ['s', 2, 0],
      ['b', 1, 0],
      ['Q', 1, 1],
      ['\x85', 1, 1],
      ['\x86', 2, 1],
      ['\x87', 3, 1],
      ['\x97', 0, 1],
      ['\x98', 1, 1],
    ] as const
  ).map(([op, pops, pushes]) => [op.charCodeAt(0), [pops, pushes]]),
);

const LINE_STRINGS = new Set(['S', 'V'].map((c) => c.charCodeAt(0)));

export class PickleScanner {
  private readonly globals = new Set<string>();
  private readonly problems: string[] = [];
  private stack: Value[] = [];
  private marks: number[] = [];
  private memo = new Map<number, Value>();
  private pickles = 0;
  private done = false;
  private inPickle = false;
  /** Bytes being gathered for the current step, and how many it needs. */
  private pending: number[] = [];
  private op = -1;
  private lines: string[] = [];
  private skip = 0;
  private textWanted = -1;
  private text: number[] = [];

  /** Whether what went past so far reads as a pickle: no problem, and a global imported or a pickle ended. */
  get plausible(): boolean {
    return this.problems.length === 0 && (this.globals.size > 0 || this.pickles > 0);
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    try {
      while (off < chunk.length && !this.done) off = this.step(chunk, off);
    } catch (err) {
      this.fail(err instanceof Error ? err.message : String(err));
    }
  }

  finish(): PickleSummary {
    if (!this.done && (this.inPickle || this.pickles === 0)) this.fail('truncated: the stream ends inside a pickle');
    const globals = [...this.globals].sort();
    const summary: PickleSummary = {
      format: 'pickle',
      pickles: this.pickles,
      globals: globals.slice(0, 200),
      unsafe_globals: globals.filter((g) => !SAFE_PICKLE_GLOBALS.has(g)).slice(0, 200),
    };
    if (this.problems.length > 0) summary.problems = this.problems;
    return summary;
  }

  /** Whether `finish()` would call the stream unsafe. */
  static unsafe(s: PickleSummary): boolean {
    return s.unsafe_globals.length > 0 || (s.problems?.length ?? 0) > 0;
  }

  private fail(problem: string): void {
    this.problems.push(problem);
    this.done = true;
  }

  /** Consumes bytes from `off`; returns where it stopped. */
  private step(chunk: Uint8Array, off: number): number {
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length - off);
      if (this.textWanted >= 0 && this.text.length < NAME_MAX)
        for (let i = 0; i < n && this.text.length < NAME_MAX; i++) this.text.push(chunk[off + i] as number);
      this.skip -= n;
      if (this.skip === 0) this.endCounted();
      return off + n;
    }
    if (this.op < 0) {
      const op = chunk[off] as number;
      if (!this.inPickle) {
        if (this.pickles > 0 && (op !== 0x80 || this.pickles >= PICKLE_MAX_CHAINED)) {
          this.done = true;
          return off;
        }
        this.inPickle = true;
        this.stack = [];
        this.marks = [];
        this.memo = new Map();
      }
      if (!ARGS.has(op)) {
        this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}: not a pickle this scanner can vouch for`);
        return off + 1;
      }
      this.op = op;
      this.pending = [];
      this.lines = [];
      const arg = ARGS.get(op) as Arg;
      if (arg.kind === 'none') this.execute([]);
      return off + 1;
    }
    // An opcode without argument ran when it was read: this one has an argument.
    const arg = ARGS.get(this.op) as Exclude<Arg, { kind: 'none' }>;
    const b = chunk[off] as number;
    if (arg.kind === 'line') {
      if (b === 0x0a) {
        this.lines.push(latin1(this.pending));
        this.pending = [];
        if (this.lines.length === arg.lines) this.execute([]);
      } else if (this.pending.length >= LINE_MAX) throw new Error(`an argument line is longer than ${LINE_MAX} bytes`);
      else this.pending.push(b);
      return off + 1;
    }
    this.pending.push(b);
    if (this.pending.length < arg.bytes) return off + 1;
    if (arg.kind === 'fixed') {
      this.execute(this.pending);
      return off + 1;
    }
    const length = uint(this.pending);
    this.textWanted = arg.text ? length : -1;
    this.text = [];
    this.skip = length;
    if (length === 0) this.endCounted();
    return off + 1;
  }

  private endCounted(): void {
    const value: Value = this.textWanted >= 0 && this.textWanted <= NAME_MAX ? { text: new TextDecoder().decode(new Uint8Array(this.text)) } : OTHER;
    this.textWanted = -1;
    this.text = [];
    this.stack.push(value);
    this.op = -1;
  }

  private pop(n = 1): Value[] {
    const floor = this.marks.at(-1) ?? 0;
    if (this.stack.length - n < floor) throw new Error(`stack underflow at opcode 0x${this.op.toString(16)}: a malformed pickle`);
    return this.stack.splice(this.stack.length - n, n);
  }

  private popMark(): void {
    const at = this.marks.pop();
    if (at === undefined) throw new Error('an opcode pops to a MARK that was never set: a malformed pickle');
    this.stack.length = at;
  }

  private remember(index: number, value: Value): void {
    if (this.memo.size >= MEMO_MAX && !this.memo.has(index)) throw new Error(`more than ${MEMO_MAX} memo entries`);
    this.memo.set(index, value);
  }

  private recall(index: number): void {
    const value = this.memo.get(index);
    if (value === undefined) throw new Error(`memo ${index} is read before it is written: a malformed pickle`);
    this.stack.push(value);
  }

  private execute(arg: number[]): void {
    const op = this.op;
    this.op = -1;
    const c = String.fromCharCode(op);
    const toMark = TO_MARK_PUSH.get(op);
    if (op === 0x69 /* INST */) this.globals.add(global(this.lines));
    if (toMark !== undefined) {
      this.popMark();
      if (toMark) this.stack.push(OTHER);
      return;
    }
    const effect = EFFECTS.get(op);
    if (effect) {
      this.pop(effect[0]);
      for (let i = 0; i < effect[1]; i++) this.stack.push(OTHER);
      return;
    }
    switch (c) {
      case '(':
        this.marks.push(this.stack.length);
        return;
      case '.':
        this.pop(1);
        this.pickles++;
        this.inPickle = false;
        return;
      case '2': {
        const v = this.top();
        this.stack.push(v);
        return;
      }
      case 'c':
        this.globals.add(global(this.lines));
        this.stack.push(OTHER);
        return;
      case '\x93': {
        const [mod, name] = this.pop(2) as [Value, Value];
        if (mod.text === undefined || name.text === undefined) throw new Error('STACK_GLOBAL on operands that are not plain strings');
        this.globals.add(`${mod.text}.${name.text}`);
        this.stack.push(OTHER);
        return;
      }
      case 'p':
        this.remember(Number(this.lines[0]), this.top());
        return;
      case 'q':
      case 'r':
        this.remember(uint(arg), this.top());
        return;
      case '\x94':
        this.remember(this.memo.size, this.top());
        return;
      case 'g':
        this.recall(Number(this.lines[0]));
        return;
      case 'h':
      case 'j':
        this.recall(uint(arg));
        return;
      case '\x82':
      case '\x83':
      case '\x84':
        // The copyreg extension registry maps codes to globals this scanner cannot see.
        this.globals.add(`<extension code ${uint(arg)}>`);
        this.stack.push(OTHER);
        return;
      case '\x80':
        if ((arg[0] as number) > 5) throw new Error(`unsupported pickle protocol ${arg[0]}`);
        return;
      case '\x95':
        return;
      default:
        this.stack.push(LINE_STRINGS.has(op) ? { text: unquote(this.lines[0] ?? '') } : OTHER);
    }
  }

  private top(): Value {
    const v = this.stack.at(-1);
    if (v === undefined || this.stack.length <= (this.marks.at(-1) ?? 0)) throw new Error('memoizing an empty stack: a malformed pickle');
    return v;
  }
}

function uint(bytes: number[]): number {
  let n = 0;
  for (let i = bytes.length - 1; i >= 0; i--) n = n * 256 + (bytes[i] as number);
  return n;
}

function latin1(bytes: number[]): string {
  return String.fromCharCode(...bytes);
}

function global(lines: string[]): string {
  return `${lines[0]}.${lines[1]}`;
}

/** A protocol 0 STRING argument is a quoted repr: its text without the quotes. */
function unquote(s: string): string {
  return /^(['"]).*\1$/s.test(s) ? s.slice(1, -1) : s;
}
