using Harness.Model.Checkpoints;

namespace Harness.Model;

/// <summary>
/// Builds the model a command asks for with <c>--weights</c>: <c>none</c> (torchvision initialisation),
/// <c>imagenet</c> (the 1000-class checkpoint, strictly loaded, then a fresh head of <c>numClasses</c>, as the
/// study did) or a checkpoint Harness wrote (its widths rebuilt from the tensor shapes, so channel-pruned
/// models load; masked layers restored with their masks). Every random initialisation (the whole network for
/// <c>none</c>, the new head for <c>imagenet</c>) is a function of <c>seed</c> alone.
/// </summary>
public static class ModelLoader
{
    public static EfficientNet Load(string weights, int numClasses = 10, WeightsResolver? resolver = null, ulong seed = 0)
    {
        resolver ??= new WeightsResolver();
        string? path = resolver.Resolve(weights);
        if (path is null) return Create(EfficientNetConfig.B0(numClasses), seed);
        if (weights.Equals("imagenet", StringComparison.OrdinalIgnoreCase))
        {
            var model = EfficientNet.Create(EfficientNetConfig.B0(1000));
            using (var sd = TorchCheckpoint.Load(path))
                StateDictLoader.Load(model, sd, strict: true, sourceName: path);
            if (numClasses != 1000)
            {
                SeedInitialisation(seed);
                model.ReplaceClassifier(numClasses);
            }
            return model;
        }
        return LoadCheckpoint(path);
    }

    /// <summary>A freshly initialised network (torchvision's initialisation) whose weights depend on
    /// <paramref name="seed"/> alone: torch's global generator is seeded with it just before the build.</summary>
    public static EfficientNet Create(EfficientNetConfig config, ulong seed)
    {
        SeedInitialisation(seed);
        return EfficientNet.Create(config);
    }

    private static void SeedInitialisation(ulong seed) => TorchSharp.torch.manual_seed(unchecked((long)seed));

    /// <summary>Rebuilds a network from a checkpoint alone: widths from its shapes (or its metadata), masks from
    /// its <c>*_mask</c> tensors, then a strict load.</summary>
    /// <summary>Refuses a model whose head does not have the data's number of classes (a 1000-class checkpoint on
    /// CIFAR-10 would otherwise report 0% accuracy without a word).</summary>
    public static void RequireClasses(EfficientNet model, int dataClasses, string weights)
    {
        if (model.Widths.NumClasses != dataClasses)
            throw new ArgumentException(
                $"--weights '{weights}': the model's head has {model.Widths.NumClasses} classes but the data has {dataClasses}");
    }

    public static EfficientNet LoadCheckpoint(string path)
    {
        using var sd = TorchCheckpoint.Load(path);
        EfficientNetWidths widths;
        try
        {
            // Harness's metadata records the widths exactly (residual flags included); a file from elsewhere is
            // rebuilt from its tensor shapes alone.
            string? meta = TorchCheckpoint.ReadMetadata(path);
            widths = meta is not null ? EfficientNetWidths.FromJson(meta) : EfficientNetWidths.FromStateDictShapes(sd.Shapes());
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new CheckpointFormatException($"{path}: the Harness metadata record is not valid ({ex.Message})", ex);
        }
        catch (InvalidDataException ex)
        {
            throw new CheckpointFormatException($"{path}: {ex.Message}", ex);
        }
        var model = new EfficientNet(widths);
        try
        {
            foreach (var (name, layer) in model.PrunableLayers())
                if (sd.TryGetValue($"{name}.weight_mask", out var mask))
                    layer.ApplyMask(mask!);
            StateDictLoader.Load(model, sd, strict: true, sourceName: path);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Saves a model (masked or not, pruned or not) so that <see cref="LoadCheckpoint"/> and
    /// <c>torch.load</c> both read it; the widths go into the metadata record.</summary>
    public static void Save(EfficientNet model, string path) =>
        TorchCheckpoint.Save(path, model, model.Widths.ToJson());

    /// <summary>True when any layer of the model is masked.</summary>
    public static bool IsMasked(EfficientNet model) => model.PrunableLayers().Any(l => l.Layer.IsMasked);
}
