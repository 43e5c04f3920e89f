using System.Buffers.Binary;
using System.Text;

namespace Harness.Storage.Pickle;

/// <summary>Writes pickle protocol 2 opcodes (the subset <c>torch.save</c> uses for state dicts).</summary>
public sealed class PickleWriter
{
    private readonly MemoryStream _out = new();

    public PickleWriter() => _out.Write([0x80, 2]); // PROTO 2

    public void Mark() => _out.WriteByte((byte)'(');
    public void Tuple() => _out.WriteByte((byte)'t');
    public void EmptyTuple() => _out.WriteByte((byte)')');
    public void Reduce() => _out.WriteByte((byte)'R');
    public void SetItems() => _out.WriteByte((byte)'u');
    public void EmptyDict() => _out.WriteByte((byte)'}');
    public void BinPersId() => _out.WriteByte((byte)'Q');
    public void Build() => _out.WriteByte((byte)'b');
    public void Bool(bool value) => _out.WriteByte(value ? (byte)0x88 : (byte)0x89);
    public void None() => _out.WriteByte((byte)'N');

    public void Global(string module, string name)
    {
        _out.WriteByte((byte)'c');
        _out.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    }

    public void String(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        _out.WriteByte((byte)'X');
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)bytes.Length);
        _out.Write(len);
        _out.Write(bytes);
    }

    public void Int(long value)
    {
        if (value is >= 0 and < 256)
        {
            _out.WriteByte((byte)'K');
            _out.WriteByte((byte)value);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            _out.WriteByte((byte)'J');
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)value);
            _out.Write(b);
        }
        else
        {
            _out.WriteByte(0x8a); // LONG1
            _out.WriteByte(8);
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(b, value);
            _out.Write(b);
        }
    }

    public void IntTuple(IEnumerable<long> values)
    {
        Mark();
        foreach (var v in values) Int(v);
        Tuple();
    }

    public byte[] Finish()
    {
        _out.WriteByte((byte)'.');
        return _out.ToArray();
    }
}
