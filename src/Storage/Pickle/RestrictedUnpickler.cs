using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Harness.Storage.Pickle;

/// <summary>
/// A pickle reader (protocols 0–5 opcodes used by <c>torch.save</c> and by numpy/CIFAR batches) that never
/// executes anything: it rebuilds plain data (None, bool, int, float, str, bytes, tuple, list, dict, set) and
/// resolves a global only when the caller's allow-list names it; REDUCE/NEWOBJ/BUILD on such a global go to the
/// caller's <see cref="Construct"/> function, which decides what the object becomes. Persistent ids go to
/// <see cref="PersistentLoad"/>. Anything else is refused with a <see cref="PickleException"/> naming the source.
/// <para>
/// Work and memory are bounded by the input whatever it holds: every length field must fit in the bytes that remain,
/// at most <see cref="MaxOpcodes"/> opcodes run, the stack holds at most <see cref="MaxStackDepth"/> entries of which
/// at most <see cref="MaxMarkDepth"/> are open MARKs (the nesting depth of the stack machine), the memo holds at most
/// <see cref="MaxMemoEntries"/> entries and an integer has at most <see cref="MaxIntegerBytes"/> bytes. Nothing here
/// walks the rebuilt objects recursively, so self-referencing or deeply nested containers are harmless.
/// </para>
/// </summary>
public sealed class RestrictedUnpickler
{
    /// <summary>Opcodes one pickle may run (a B0 state dict runs about 15,000; a CIFAR batch about 20,000).</summary>
    public const int MaxOpcodes = 1 << 22;

    /// <summary>Entries the stack may hold at once (torch.save pushes two per state-dict entry before SETITEMS).</summary>
    public const int MaxStackDepth = 1 << 20;

    /// <summary>MARKs that may be open at once, i.e. how deeply tuples, lists and dicts may nest while being built.</summary>
    public const int MaxMarkDepth = 1 << 12;

    /// <summary>Memo entries (BINPUT, LONG_BINPUT, PUT, MEMOIZE).</summary>
    public const int MaxMemoEntries = 1 << 20;

    /// <summary>Bytes of one LONG1/LONG4 integer (8,192 bits; pickles of tensors and arrays use at most 8).</summary>
    public const int MaxIntegerBytes = 1 << 10;

    private static readonly object Mark = new();
    private readonly string _source;
    private readonly IReadOnlySet<string> _allowedGlobals;
    private readonly Stack<object?> _stack = new();
    private readonly Dictionary<long, object?> _memo = [];
    private int _marks;

    public RestrictedUnpickler(string source, IEnumerable<string> allowedGlobals)
    {
        _source = source;
        _allowedGlobals = allowedGlobals.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Builds the object for an allowed callable and its arguments (REDUCE, NEWOBJ).</summary>
    public Func<PyGlobal, object?[], object?> Construct { get; init; } = (g, args) => new PyObject(g, args);

    /// <summary>Applies BUILD state to an object; the default keeps it as data on dicts and PyObjects.</summary>
    public Action<object?, object?>? Build { get; init; }

    /// <summary>Resolves a persistent id (BINPERSID); without it persistent ids are refused.</summary>
    public Func<object?, object?>? PersistentLoad { get; init; }

    public object? Load(ReadOnlySpan<byte> data)
    {
        _stack.Clear();
        _memo.Clear();
        _marks = 0;
        var r = new Reader(data, _source);
        for (int opcodes = 0; ; opcodes++)
        {
            if (opcodes >= MaxOpcodes) throw Bad($"more than {MaxOpcodes} opcodes");
            byte op = r.U8();
            switch (op)
            {
                case 0x80: r.U8(); break; // PROTO
                case 0x95: r.I64(); break; // FRAME
                case (byte)'.': // STOP
                    if (_stack.Count != 1) throw Bad("stack not balanced at STOP");
                    return _stack.Pop();
                case (byte)'(': // MARK
                    if (_marks >= MaxMarkDepth) throw Bad($"more than {MaxMarkDepth} nested MARKs");
                    Push(Mark);
                    _marks++;
                    break;
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)r.I32()); break;
                case (byte)'K': Push((long)r.U8()); break;
                case (byte)'M': Push((long)r.U16()); break;
                case 0x8a: Push(LongFrom(r.Bytes(r.U8()))); break; // LONG1
                case 0x8b: Push(LongFrom(r.Bytes(IntegerLength(r.U32())))); break; // LONG4
                case (byte)'G': Push(r.F64BigEndian()); break; // BINFLOAT
                case (byte)'I': Push(ParseIntLine(r.Line())); break; // INT (protocol 0)
                case (byte)'L': Push(ParseIntLine(r.Line().TrimEnd('L'))); break; // LONG (protocol 0)
                case (byte)'F': Push(ParseFloatLine(r.Line())); break; // FLOAT (protocol 0)
                case (byte)'X': Push(Encoding.UTF8.GetString(r.Bytes(r.U32()))); break; // BINUNICODE
                case 0x8c: Push(Encoding.UTF8.GetString(r.Bytes(r.U8()))); break; // SHORT_BINUNICODE
                case 0x8d: Push(Encoding.UTF8.GetString(r.Bytes(r.I64()))); break; // BINUNICODE8
                case (byte)'T': Push(r.Bytes(r.U32()).ToArray()); break; // BINSTRING
                case (byte)'U': Push(r.Bytes(r.U8()).ToArray()); break; // SHORT_BINSTRING
                case (byte)'B': Push(r.Bytes(r.U32()).ToArray()); break; // BINBYTES
                case (byte)'C': Push(r.Bytes(r.U8()).ToArray()); break; // SHORT_BINBYTES
                case 0x8e: Push(r.Bytes(r.I64()).ToArray()); break; // BINBYTES8
                case 0x96: Push(r.Bytes(r.I64()).ToArray()); break; // BYTEARRAY8
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'t': Push(PopToMark().ToArray()); break; // TUPLE
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)'l': Push(PopToMark()); break; // LIST
                case (byte)'a': { var v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                case (byte)'e': { var items = PopToMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                case (byte)'}': Push(new PyDict()); break; // EMPTY_DICT
                case (byte)'d': { var items = PopToMark(); var d = new PyDict(); SetItems(d, items); Push(d); break; } // DICT
                case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Peek()).Set(Key(k), v); break; } // SETITEM
                case (byte)'u': { var items = PopToMark(); SetItems(AsDict(Peek()), items); break; } // SETITEMS
                case 0x8f: Push(new HashSet<object>()); break; // EMPTY_SET
                case 0x90: { var items = PopToMark(); var set = Peek() as HashSet<object> ?? throw Bad("ADDITEMS on a non-set"); foreach (var i in items) set.Add(Key(i)); break; }
                case 0x91: Push(PopToMark().Select(Key).ToHashSet()); break; // FROZENSET
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopToMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP
                case (byte)'q': Remember(r.U8(), Peek()); break; // BINPUT
                case (byte)'r': Remember(r.U32(), Peek()); break; // LONG_BINPUT
                case 0x94: Remember(_memo.Count, Peek()); break; // MEMOIZE
                case (byte)'p': Remember(ParseMemoKey(r.Line()), Peek()); break; // PUT
                case (byte)'h': Push(Memo(r.U8())); break; // BINGET
                case (byte)'j': Push(Memo(r.U32())); break; // LONG_BINGET
                case (byte)'g': Push(Memo(ParseMemoKey(r.Line()))); break; // GET
                case (byte)'c': { string module = r.Line(); string name = r.Line(); Push(Global(module, name)); break; } // GLOBAL
                case 0x93: { var name = Pop() as string; var module = Pop() as string; if (module is null || name is null) throw Bad("STACK_GLOBAL needs two strings"); Push(Global(module, name)); break; }
                case (byte)'R': { var args = Pop() as object?[] ?? throw Bad("REDUCE arguments are not a tuple"); var f = Pop(); Push(Call(f, args)); break; }
                case 0x81: { var args = Pop() as object?[] ?? throw Bad("NEWOBJ arguments are not a tuple"); var cls = Pop(); Push(Call(cls, args)); break; }
                case 0x92: { Pop(); var args = Pop() as object?[] ?? throw Bad("NEWOBJ_EX arguments are not a tuple"); var cls = Pop(); Push(Call(cls, args)); break; }
                case (byte)'b': { var state = Pop(); ApplyBuild(Peek(), state); break; } // BUILD
                case (byte)'Q': { var pid = Pop(); Push(Persistent(pid)); break; } // BINPERSID
                default:
                    throw new PickleSecurityException(
                        $"{_source}: pickle opcode 0x{op:x2} ('{(char)op}') at byte {r.Position - 1} is not supported by the restricted unpickler");
            }
        }
    }

    private void Push(object? value)
    {
        if (_stack.Count >= MaxStackDepth) throw Bad($"stack deeper than {MaxStackDepth} entries");
        _stack.Push(value);
    }

    private void Remember(long key, object? value)
    {
        if (_memo.Count >= MaxMemoEntries && !_memo.ContainsKey(key))
            throw Bad($"memo larger than {MaxMemoEntries} entries");
        _memo[key] = value;
    }

    private long IntegerLength(uint length) => length <= MaxIntegerBytes
        ? length
        : throw Bad($"integer of {length} bytes (at most {MaxIntegerBytes} are read)");

    private object? Global(string module, string name)
    {
        string full = $"{module}.{name}";
        if (!_allowedGlobals.Contains(full))
            throw new PickleSecurityException(
                $"{_source}: pickle asks for global '{full}', which is not allowed (only tensors and plain containers are loaded; nothing is executed)");
        return new PyGlobal(module, name);
    }

    private object? Call(object? callable, object?[] args)
    {
        if (callable is not PyGlobal g) throw Bad("REDUCE/NEWOBJ on something that is not an allowed global");
        return Construct(g, args);
    }

    private void ApplyBuild(object? target, object? state)
    {
        if (Build is not null)
        {
            Build(target, state);
            return;
        }
        switch (target)
        {
            case PyDict d: d.State = state; break;
            case PyObject o: o.State = state; break;
            default: throw Bad($"BUILD on unsupported object {target?.GetType().Name ?? "None"}");
        }
    }

    private object? Persistent(object? pid)
    {
        if (PersistentLoad is null) throw new PickleSecurityException($"{_source}: persistent ids are not allowed here");
        return PersistentLoad(pid);
    }

    private object? Memo(long key) =>
        _memo.TryGetValue(key, out var v) ? v : throw Bad($"memo key {key} read before it was written");

    private object? Pop()
    {
        if (_stack.Count == 0) throw Bad("stack underflow");
        var v = _stack.Pop();
        if (ReferenceEquals(v, Mark)) throw Bad("unexpected MARK");
        return v;
    }

    private object? Peek()
    {
        if (_stack.Count == 0) throw Bad("stack underflow");
        return _stack.Peek();
    }

    private List<object?> PopToMark()
    {
        var items = new List<object?>();
        while (true)
        {
            if (_stack.Count == 0) throw Bad("MARK not found");
            var v = _stack.Pop();
            if (ReferenceEquals(v, Mark))
            {
                _marks--;
                break;
            }
            items.Add(v);
        }
        items.Reverse();
        return items;
    }

    private void SetItems(PyDict d, List<object?> items)
    {
        if (items.Count % 2 != 0) throw Bad("odd number of items for a dict");
        for (int i = 0; i < items.Count; i += 2) d.Set(Key(items[i]), items[i + 1]);
    }

    private object Key(object? k) => k switch
    {
        null => throw Bad("None as a dict key is not supported"),
        byte[] b => System.Text.Encoding.Latin1.GetString(b), // Python 2 str keys (e.g. CIFAR's b'data')
        object?[] t => string.Join("\u0001", t.Select(x => x?.ToString())),
        _ => k,
    };

    private List<object?> AsList(object? o) => o as List<object?> ?? throw Bad("APPEND on a non-list");
    private PyDict AsDict(object? o) => o as PyDict ?? throw Bad("SETITEM on a non-dict");

    private static object LongFrom(ReadOnlySpan<byte> bytes)
    {
        var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big;
    }

    private object ParseIntLine(string line)
    {
        if (line == "00") return false;
        if (line == "01") return true;
        if (long.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)) return v;
        if (line.Length <= 2 * MaxIntegerBytes
            && BigInteger.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) return big;
        throw Bad($"'{Clip(line)}' is not an integer");
    }

    private double ParseFloatLine(string line) =>
        double.TryParse(line, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v
            : throw Bad($"'{Clip(line)}' is not a float");

    private long ParseMemoKey(string line) =>
        long.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)
            ? v
            : throw Bad($"'{Clip(line)}' is not a memo key");

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private PickleException Bad(string what) => new($"{_source}: malformed pickle: {what}");

    private ref struct Reader(ReadOnlySpan<byte> data, string source)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public int Position { get; private set; }

        private ReadOnlySpan<byte> Take(long n)
        {
            if (n < 0 || n > _data.Length - Position)
                throw new PickleException(
                    $"{source}: pickle is truncated or a length field is out of range (needed {n} bytes at byte {Position} of {_data.Length})");
            var s = _data.Slice(Position, (int)n);
            Position += (int)n;
            return s;
        }

        public byte U8() => Take(1)[0];
        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        public int I32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));
        public double F64BigEndian() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));
        public ReadOnlySpan<byte> Bytes(long n) => Take(n);

        public string Line()
        {
            int end = _data[Position..].IndexOf((byte)'\n');
            if (end < 0) throw new PickleException($"{source}: pickle is truncated (unterminated line at byte {Position})");
            string s = Encoding.UTF8.GetString(_data.Slice(Position, end));
            Position += end + 1;
            return s;
        }
    }
}
