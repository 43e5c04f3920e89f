namespace Harness.Storage.Pickle;

/// <summary>An object made by an allowed constructor (REDUCE/NEWOBJ) whose BUILD state is kept as data.</summary>
public sealed class PyObject(PyGlobal type, object?[] args)
{
    public PyGlobal Type { get; } = type;
    public object?[] Args { get; } = args;
    public object? State { get; set; }
}
