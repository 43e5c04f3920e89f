namespace Harness.Metrics;

/// <summary>The int8 deployment of a model: its static QDQ export (ONNX Runtime), measured where the float one is.</summary>
/// <param name="SizeBytes">Bytes of the int8 ONNX file.</param>
/// <param name="Latency">Its timed passes in ONNX Runtime (same batch, runs, warm-up and threads as the float
/// figures), when timed.</param>
/// <param name="TestLoss">Mean test cross-entropy of the int8 model, when evaluated.</param>
/// <param name="TestAccuracy">Its test top-1 accuracy in [0, 1], when evaluated.</param>
/// <param name="Calibration">The calibration: method, images and their source (the export's metadata).</param>
public sealed record Int8Metrics(long SizeBytes, LatencyStats? Latency, double? TestLoss, double? TestAccuracy, string Calibration)
{
    /// <summary>Size in MB (10⁶ bytes).</summary>
    public double SizeMB => SizeBytes / 1e6;
}
