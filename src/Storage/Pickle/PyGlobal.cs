namespace Harness.Storage.Pickle;

/// <summary>A Python global (module, name) that the unpickler was allowed to resolve.</summary>
public sealed record PyGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}
