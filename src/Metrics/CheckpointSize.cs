using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>Bytes of a checkpoint file: the model is written by the given <c>save</c> function to a temporary file,
/// the file is measured and deleted.</summary>
public static class CheckpointSize
{
    public static long Measure(nn.Module model, Action<nn.Module, string> save)
    {
        ArgumentNullException.ThrowIfNull(save);
        string path = Path.Combine(Path.GetTempPath(), $"harness-size-{Guid.NewGuid():N}.pt");
        try
        {
            save(model, path);
            return new FileInfo(path).Length;
        }
        finally
        {
            if (File.Exists(path))
                File.Delete(path);
        }
    }
}
