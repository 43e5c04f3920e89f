namespace Harness.Export.Quantization;

/// <summary>The settings of a static post-training quantization: the calibration method, how many batches of
/// calibration images it saw (recorded, the caller feeds them), the percentile kept by
/// <see cref="CalibrationMethod.Percentile"/>, and the histogram resolution of the percentile and entropy methods.</summary>
public sealed record QuantizationOptions
{
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>The share of values (in percent) the percentile range keeps at each side's tail, ONNX Runtime's
    /// default 99.999.</summary>
    public double Percentile { get; init; } = 99.999;

    /// <summary>Histogram bins between the observed minimum and maximum of each activation.</summary>
    public int HistogramBins { get; init; } = 2048;

    /// <summary>Where the calibration images came from (recorded in the model's metadata).</summary>
    public string CalibrationSource { get; init; } = "unspecified";

    /// <summary>How many images calibration saw (recorded in the metadata).</summary>
    public int CalibrationImages { get; init; }

    public void Validate()
    {
        if (!(Percentile > 50 && Percentile <= 100))
            throw new ArgumentException($"--percentile must lie in (50, 100] (got {Percentile})");
        if (HistogramBins is < 256 or > 1 << 16)
            throw new ArgumentException($"histogram bins must lie in 256..65536 (got {HistogramBins})");
    }
}
