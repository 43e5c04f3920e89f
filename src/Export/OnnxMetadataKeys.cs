namespace Harness.Export;

/// <summary>The keys of the <c>metadata_props</c> an exported model carries; list values are JSON arrays.</summary>
public static class OnnxMetadataKeys
{
    public const string ClassNames = "class_names";
    public const string ImageSize = "image_size";
    public const string Mean = "mean";
    public const string Std = "std";
    public const string SourceSha256 = "source_sha256";
    public const string HarnessVersion = "harness_version";
    /// <summary>"folded" or "unfolded".</summary>
    public const string BatchNorm = "batch_norm";
    /// <summary>How to feed the input: layout, channel order, scaling.</summary>
    public const string Input = "input_format";
    /// <summary>The int8 scheme of a quantized export (absent from a float one).</summary>
    public const string Quantization = "quantization";
    /// <summary>JSON: the calibration method, its settings, the number of images and their source.</summary>
    public const string Calibration = "calibration";
}
