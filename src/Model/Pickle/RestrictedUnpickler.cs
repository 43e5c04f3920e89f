using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Harness.Model.Pickle;

/// <summary>
/// A pickle reader (protocols 0–5 opcodes used by <c>torch.save</c> and by numpy/CIFAR batches) that never
/// executes anything: it rebuilds plain data (None, bool, int, float, str, bytes, tuple, list, dict, set) and
/// resolves a global only when the caller's allow-list names it; REDUCE/NEWOBJ/BUILD on such a global go to the
/// caller's <see cref="Construct"/> function, which decides what the object becomes. Persistent ids go to
/// <see cref="PersistentLoad"/>. Anything else is refused with a <see cref="PickleException"/> naming the source.
/// </summary>
public sealed class RestrictedUnpickler
{
    private static readonly object Mark = new();
    private readonly string _source;
    private readonly IReadOnlySet<string> _allowedGlobals;
    private readonly Stack<object?> _stack = new();
    private readonly Dictionary<long, object?> _memo = [];

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
        var r = new Reader(data, _source);
        while (true)
        {
            byte op = r.U8();
            switch (op)
            {
                case 0x80: r.U8(); break; // PROTO
                case 0x95: r.I64(); break; // FRAME
                case (byte)'.': // STOP
                    if (_stack.Count != 1) throw Bad("stack not balanced at STOP");
                    return _stack.Pop();
                case (byte)'(': _stack.Push(Mark); break; // MARK
                case (byte)'N': _stack.Push(null); break;
                case 0x88: _stack.Push(true); break;
                case 0x89: _stack.Push(false); break;
                case (byte)'J': _stack.Push((long)r.I32()); break;
                case (byte)'K': _stack.Push((long)r.U8()); break;
                case (byte)'M': _stack.Push((long)r.U16()); break;
                case 0x8a: _stack.Push(LongFrom(r.Bytes(r.U8()))); break; // LONG1
                case 0x8b: _stack.Push(LongFrom(r.Bytes(checked((int)r.U32())))); break; // LONG4
                case (byte)'G': _stack.Push(r.F64BigEndian()); break; // BINFLOAT
                case (byte)'I': _stack.Push(ParseIntLine(r.Line())); break; // INT (protocol 0)
                case (byte)'L': _stack.Push(ParseIntLine(r.Line().TrimEnd('L'))); break; // LONG (protocol 0)
                case (byte)'F': _stack.Push(double.Parse(r.Line(), System.Globalization.CultureInfo.InvariantCulture)); break;
                case (byte)'X': _stack.Push(Encoding.UTF8.GetString(r.Bytes(checked((int)r.U32())))); break; // BINUNICODE
                case 0x8c: _stack.Push(Encoding.UTF8.GetString(r.Bytes(r.U8()))); break; // SHORT_BINUNICODE
                case 0x8d: _stack.Push(Encoding.UTF8.GetString(r.Bytes(checked((int)r.I64())))); break; // BINUNICODE8
                case (byte)'T': _stack.Push(r.Bytes(checked((int)r.U32())).ToArray()); break; // BINSTRING
                case (byte)'U': _stack.Push(r.Bytes(r.U8()).ToArray()); break; // SHORT_BINSTRING
                case (byte)'B': _stack.Push(r.Bytes(checked((int)r.U32())).ToArray()); break; // BINBYTES
                case (byte)'C': _stack.Push(r.Bytes(r.U8()).ToArray()); break; // SHORT_BINBYTES
                case 0x8e: _stack.Push(r.Bytes(checked((int)r.I64())).ToArray()); break; // BINBYTES8
                case 0x96: _stack.Push(r.Bytes(checked((int)r.I64())).ToArray()); break; // BYTEARRAY8
                case (byte)')': _stack.Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case 0x85: _stack.Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); _stack.Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); _stack.Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'t': _stack.Push(PopToMark().ToArray()); break; // TUPLE
                case (byte)']': _stack.Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)'l': _stack.Push(PopToMark()); break; // LIST
                case (byte)'a': { var v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                case (byte)'e': { var items = PopToMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                case (byte)'}': _stack.Push(new PyDict()); break; // EMPTY_DICT
                case (byte)'d': { var items = PopToMark(); var d = new PyDict(); SetItems(d, items); _stack.Push(d); break; } // DICT
                case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Peek()).Set(Key(k), v); break; } // SETITEM
                case (byte)'u': { var items = PopToMark(); SetItems(AsDict(Peek()), items); break; } // SETITEMS
                case 0x8f: _stack.Push(new HashSet<object>()); break; // EMPTY_SET
                case 0x90: { var items = PopToMark(); var set = Peek() as HashSet<object> ?? throw Bad("ADDITEMS on a non-set"); foreach (var i in items) set.Add(Key(i)); break; }
                case 0x91: _stack.Push(PopToMark().Select(Key).ToHashSet()); break; // FROZENSET
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopToMark(); break; // POP_MARK
                case (byte)'2': _stack.Push(Peek()); break; // DUP
                case (byte)'q': _memo[r.U8()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[r.U32()] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'p': _memo[long.Parse(r.Line(), System.Globalization.CultureInfo.InvariantCulture)] = Peek(); break; // PUT
                case (byte)'h': _stack.Push(Memo(r.U8())); break; // BINGET
                case (byte)'j': _stack.Push(Memo(r.U32())); break; // LONG_BINGET
                case (byte)'g': _stack.Push(Memo(long.Parse(r.Line(), System.Globalization.CultureInfo.InvariantCulture))); break; // GET
                case (byte)'c': { string module = r.Line(); string name = r.Line(); _stack.Push(Global(module, name)); break; } // GLOBAL
                case 0x93: { var name = Pop() as string; var module = Pop() as string; if (module is null || name is null) throw Bad("STACK_GLOBAL needs two strings"); _stack.Push(Global(module, name)); break; }
                case (byte)'R': { var args = Pop() as object?[] ?? throw Bad("REDUCE arguments are not a tuple"); var f = Pop(); _stack.Push(Call(f, args)); break; }
                case 0x81: { var args = Pop() as object?[] ?? throw Bad("NEWOBJ arguments are not a tuple"); var cls = Pop(); _stack.Push(Call(cls, args)); break; }
                case 0x92: { Pop(); var args = Pop() as object?[] ?? throw Bad("NEWOBJ_EX arguments are not a tuple"); var cls = Pop(); _stack.Push(Call(cls, args)); break; }
                case (byte)'b': { var state = Pop(); ApplyBuild(Peek(), state); break; } // BUILD
                case (byte)'Q': { var pid = Pop(); _stack.Push(Persistent(pid)); break; } // BINPERSID
                default:
                    throw new PickleSecurityException(
                        $"{_source}: pickle opcode 0x{op:x2} ('{(char)op}') at byte {r.Position - 1} is not supported by the restricted unpickler");
            }
        }
    }

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
            if (ReferenceEquals(v, Mark)) break;
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
        return big >= long.MinValue && big <= long.MaxValue ? (long)big : big;
    }

    private object ParseIntLine(string line) => line switch
    {
        "00" => false,
        "01" => true,
        _ => long.Parse(line, System.Globalization.CultureInfo.InvariantCulture),
    };

    private PickleException Bad(string what) => new($"{_source}: malformed pickle: {what}");

    private ref struct Reader(ReadOnlySpan<byte> data, string source)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public int Position { get; private set; }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || Position + n > _data.Length)
                throw new PickleException($"{source}: pickle is truncated (needed {n} bytes at byte {Position} of {_data.Length})");
            var s = _data.Slice(Position, n);
            Position += n;
            return s;
        }

        public byte U8() => Take(1)[0];
        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        public int I32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));
        public double F64BigEndian() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));
        public ReadOnlySpan<byte> Bytes(int n) => Take(n);

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
