namespace Harness.Storage.Checkpoints;

/// <summary>A checkpoint whose keys or shapes do not fit the model: every problem is listed in one message.</summary>
public sealed class CheckpointMismatchException(string source, IReadOnlyList<string> missing,
    IReadOnlyList<string> unexpected, IReadOnlyList<string> shapeMismatches)
    : InvalidOperationException(Describe(source, missing, unexpected, shapeMismatches))
{
    public IReadOnlyList<string> Missing { get; } = missing;
    public IReadOnlyList<string> Unexpected { get; } = unexpected;
    public IReadOnlyList<string> ShapeMismatches { get; } = shapeMismatches;

    private static string Describe(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<string> shapes)
    {
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"missing keys ({missing.Count}): {string.Join(", ", missing)}");
        if (unexpected.Count > 0) parts.Add($"unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}");
        if (shapes.Count > 0) parts.Add($"shape mismatches ({shapes.Count}): {string.Join("; ", shapes)}");
        return $"{source} does not fit the model: {string.Join(" | ", parts)}";
    }
}
