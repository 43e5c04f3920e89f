namespace Harness.Storage.Checkpoints;

/// <summary>
/// Every checkpoint format Harness reads wherever a checkpoint path is taken, recognised by its first bytes, not its
/// name: PyTorch's zip (<c>torch.save</c>; Harness's metadata in <c>extra/harness.json</c>), Harness's sparse format
/// (<see cref="SparseCheckpoint"/>) and safetensors (<see cref="SafeTensors"/>). Writing picks the format by extension:
/// <c>.safetensors</c>, <c>.hsp</c>, anything else PyTorch's.
/// </summary>
public static class CheckpointFile
{
    public enum Format { Torch, Sparse, SafeTensors }

    public static Format Detect(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist", path);
        Span<byte> start = stackalloc byte[16];
        int read;
        using (var f = File.OpenRead(path)) read = f.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        var head = start[..read];
        if (head.StartsWith(SparseCheckpoint.Magic)) return Format.Sparse;
        if (SafeTensors.Looks(head)) return Format.SafeTensors;
        return Format.Torch; // its reader names the file when it is not a torch checkpoint either
    }

    public static Format ForExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".safetensors" => Format.SafeTensors,
        ".hsp" => Format.Sparse,
        _ => Format.Torch,
    };

    /// <summary>The tensors of a checkpoint and the Harness metadata record it carries (null when none).</summary>
    public static (StateDict StateDict, string? Metadata) Load(string path) => Detect(path) switch
    {
        Format.Sparse => SparseCheckpoint.LoadWithMetadata(path),
        Format.SafeTensors => SafeTensors.LoadWithMetadata(path),
        _ => LoadTorch(path),
    };

    private static (StateDict, string?) LoadTorch(string path)
    {
        var sd = TorchCheckpoint.Load(path);
        try
        {
            return (sd, TorchCheckpoint.ReadMetadata(path));
        }
        catch
        {
            sd.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="stateDict"/> in the format <paramref name="path"/>'s extension names.</summary>
    public static void Save(string path, StateDict stateDict, string? metadataJson = null)
    {
        switch (ForExtension(path))
        {
            case Format.SafeTensors: SafeTensors.Save(path, stateDict, metadataJson); break;
            case Format.Sparse: SparseCheckpoint.Save(path, stateDict, metadataJson); break;
            default: TorchCheckpoint.Save(path, stateDict, metadataJson); break;
        }
    }
}
