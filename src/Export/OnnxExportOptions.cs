namespace Harness.Export;

/// <summary>What <see cref="OnnxExporter"/> writes besides the graph: the BatchNorm treatment and the metadata a
/// runtime needs to feed the model (class names, image size, normalisation) and to trace it (source checkpoint
/// SHA-256, Harness version).</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The side the model was trained at, recorded in the metadata; the graph's H and W stay dynamic.</summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>True (the default): every BatchNorm is folded into the conv before it; false: exported as
    /// <c>BatchNormalization</c> nodes.</summary>
    public bool FoldBatchNorm { get; init; } = true;

    public IReadOnlyList<string> ClassNames { get; init; } = [];

    /// <summary>Per-channel mean and standard deviation of the input normalisation (RGB, on [0, 1] pixels).</summary>
    public IReadOnlyList<double> Mean { get; init; } = [0.485, 0.456, 0.406];

    public IReadOnlyList<double> Std { get; init; } = [0.229, 0.224, 0.225];

    /// <summary>SHA-256 (hex) of the checkpoint the model was read from; "none" for a fresh network.</summary>
    public string SourceSha256 { get; init; } = "none";

    public string HarnessVersion { get; init; } = "unknown";

    /// <summary>Checks the options against the model's number of classes; messages name the option.</summary>
    public void Validate(int numClasses)
    {
        if (ImageSize is < 1 or > 4096)
            throw new ArgumentException($"--image-size must lie in 1..4096 (got {ImageSize})");
        if (ClassNames.Count != numClasses)
            throw new ArgumentException($"class names: {ClassNames.Count} given but the model's head has {numClasses} classes");
        if (Mean.Count != 3 || Std.Count != 3)
            throw new ArgumentException($"mean and std need 3 values each (got {Mean.Count} and {Std.Count})");
        if (Std.Any(s => !(s > 0)))
            throw new ArgumentException("std values must be positive");
    }
}
