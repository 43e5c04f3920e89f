using Google.Protobuf;
using Harness.Model.Networks;
using Harness.OnnxSchema;
using Harness.Storage.Files;
using System.Globalization;

namespace Harness.Export.Quantization;

/// <summary>
/// Static post-training quantization of any network Harness holds to ONNX's QDQ form: the float export with
/// BatchNorm folded (<see cref="OnnxExporter"/>), activation ranges calibrated in ONNX Runtime
/// (<see cref="OnnxCalibrator"/>), the graph rewritten (<see cref="QdqRewriter"/>), the scheme and the calibration
/// recorded in the metadata.
/// </summary>
public static class Int8Exporter
{
    public const string Scheme =
        "QDQ; weights int8 symmetric per output channel (axis 0 of Conv, Gemm's output axis); activations uint8 asymmetric per tensor; biases int32 at input scale × weight scale; BatchNorm folded; ReLU/ReLU6 folded into the preceding range; a k×k Conv's input channels zero-padded to a multiple of 4 (an RGB stem's 3)";

    public static void Write(IPrunableNetwork model, string path, OnnxExportOptions options, QuantizationOptions quantization,
        IReadOnlyList<(float[] Data, int[] Shape)> calibration, int threads)
    {
        var bytes = ToBytes(model, options, quantization, calibration, threads);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    public static byte[] ToBytes(IPrunableNetwork model, OnnxExportOptions options, QuantizationOptions quantization,
        IReadOnlyList<(float[] Data, int[] Shape)> calibration, int threads, IReadOnlySet<string>? operators = null) =>
        Build(model, options, quantization, calibration, threads, operators).ToByteArray();

    public static ModelProto Build(IPrunableNetwork model, OnnxExportOptions options, QuantizationOptions quantization,
        IReadOnlyList<(float[] Data, int[] Shape)> calibration, int threads, IReadOnlySet<string>? operators = null)
    {
        quantization.Validate();
        model.Module.eval();
        var floatModel = OnnxExporter.Build(model, options with { FoldBatchNorm = true });
        return Quantize(floatModel, quantization, calibration, threads, operators);
    }

    /// <summary>The QDQ form of a float ONNX model written by <see cref="OnnxExporter"/> (BatchNorm folded).</summary>
    public static ModelProto Quantize(ModelProto floatModel, QuantizationOptions quantization,
        IReadOnlyList<(float[] Data, int[] Shape)> calibration, int threads, IReadOnlySet<string>? operators = null)
    {
        var tensors = QdqRewriter.TensorsToCalibrate(floatModel, operators);
        var ranges = OnnxCalibrator.Ranges(floatModel, tensors, calibration, quantization, threads);
        var int8 = QdqRewriter.Rewrite(floatModel, ranges, operators);
        int images = calibration.Sum(b => b.Shape[0]);
        Set(int8, OnnxMetadataKeys.BatchNorm, "folded");
        Set(int8, OnnxMetadataKeys.Quantization, Scheme);
        Set(int8, OnnxMetadataKeys.Calibration, HarnessJson.Serialize(new
        {
            method = quantization.Method.Name(),
            percentile = quantization.Method == CalibrationMethod.Percentile ? quantization.Percentile : (double?)null,
            histogramBins = quantization.Method == CalibrationMethod.MinMax ? (int?)null : quantization.HistogramBins,
            images,
            source = quantization.CalibrationSource,
        }, indented: false));
        int8.DocString += $" — int8 QDQ, {quantization.Method.Name()} calibration on {images.ToString(CultureInfo.InvariantCulture)} images";
        return int8;
    }

    private static void Set(ModelProto model, string key, string value)
    {
        var entry = model.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (entry is null) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        else entry.Value = value;
    }
}
