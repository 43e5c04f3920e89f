namespace Harness.Export.Quantization;

/// <summary>How an activation's 8-bit range is chosen from what calibration saw: the whole observed range
/// (<see cref="MinMax"/>), the range holding all but the outer tail of the values (<see cref="Percentile"/>), or the
/// clipped range whose 256-level quantized histogram diverges least from the observed one (<see cref="Entropy"/>,
/// Kullback–Leibler, as TensorRT and ONNX Runtime's entropy calibrators do).</summary>
public enum CalibrationMethod
{
    MinMax,
    Percentile,
    Entropy,
}

public static class CalibrationMethods
{
    public static readonly IReadOnlyList<string> Names = ["minmax", "percentile", "entropy"];

    public static string Name(this CalibrationMethod method) => Names[(int)method];

    /// <summary>The method named <paramref name="name"/>; anything else is an <see cref="ArgumentException"/> naming
    /// the option and the choices.</summary>
    public static CalibrationMethod Parse(string name) => Names.IndexOf(name.Trim().ToLowerInvariant()) switch
    {
        -1 => throw new ArgumentException($"--calibration must be one of {string.Join(", ", Names)} (got '{name}')"),
        int i => (CalibrationMethod)i,
    };

    private static int IndexOf(this IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == value) return i;
        return -1;
    }
}
