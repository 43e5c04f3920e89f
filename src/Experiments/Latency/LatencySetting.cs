using System.Globalization;

namespace Harness.Experiments.Latency;

/// <summary>The runtime a latency is measured in: Harness's eager TorchSharp forward (BatchNorm folded), ONNX Runtime
/// on the float export, or ONNX Runtime on the int8 QDQ export.</summary>
public enum LatencyRuntime { Torch, Onnx, OnnxInt8 }

public static class LatencyRuntimes
{
    public static IReadOnlyList<string> Names { get; } = ["torch", "onnx", "onnx-int8"];

    public static string Name(this LatencyRuntime runtime) => runtime switch
    {
        LatencyRuntime.Torch => "torch",
        LatencyRuntime.Onnx => "onnx",
        _ => "onnx-int8",
    };

    /// <summary>The runtime a name gives; anything else is one line naming <paramref name="option"/>.</summary>
    public static LatencyRuntime Parse(string text, string option) => text.Trim().ToLowerInvariant() switch
    {
        "torch" => LatencyRuntime.Torch,
        "onnx" => LatencyRuntime.Onnx,
        "onnx-int8" => LatencyRuntime.OnnxInt8,
        _ => throw new ArgumentException($"{option} '{text}': expected one of {string.Join(", ", Names)}"),
    };
}

/// <summary>What a latency is measured on: runtime, batch, input side and intra-op threads. Timed passes per model
/// are fixed by the batch (<see cref="Runs"/>): a pass at batch 1 takes milliseconds and is noisy, one at batch 32
/// streams far more than any cache holds and varies less.</summary>
public sealed record LatencySetting(LatencyRuntime Runtime, int BatchSize, int ImageSize, int Threads)
{
    public void Validate()
    {
        if (BatchSize is < 1 or > 4096) throw new ArgumentException($"--batch-size {BatchSize}: must lie in 1..4096");
        if (ImageSize is < 8 or > 4096) throw new ArgumentException($"--image-size {ImageSize}: must lie in 8..4096");
        if (Threads is < 1 or > 1024) throw new ArgumentException($"--threads {Threads}: must lie in 1..1024");
    }

    /// <summary>Timed passes per model in one interleaved measurement of the latency table.</summary>
    public int Runs => BatchSize == 1 ? 30 : BatchSize <= 8 ? 10 : 6;

    /// <summary>Untimed passes before a model's timed ones: at batch 1 five; above, two — ONNX Runtime's second pass of
    /// a new session at batch 32 still ran 5–9× slower than the rest (its buffers' pages faulted in), so one warm-up
    /// left a timed pass of every network that far off.</summary>
    public int Warmup => BatchSize == 1 ? 5 : 2;

    public string Describe() =>
        $"{Runtime.Name()}, batch {BatchSize}, {ImageSize} px, {Threads} thread{(Threads == 1 ? "" : "s")}";

    public string Tag => $"{Runtime.Name()}_b{BatchSize}";

    public override string ToString() => Describe();

    internal string KeyText => string.Create(CultureInfo.InvariantCulture, $"{Runtime.Name()}|b{BatchSize}|{ImageSize}px|t{Threads}");
}
