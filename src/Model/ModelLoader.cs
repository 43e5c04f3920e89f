using Harness.Model.Import;
using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.Storage.Checkpoints;
using static TorchSharp.torch;

namespace Harness.Model;

/// <summary>
/// Builds the model a command asks for with <c>--weights</c> and <c>--arch</c>: <c>none</c> (torchvision
/// initialisation of the variant), <c>imagenet</c> (torchvision's 1000-class checkpoint of the variant, strictly
/// loaded, then a fresh head of <c>numClasses</c>, as the study did), an ONNX model (recognised by its content and
/// imported, <see cref="OnnxImporter"/>, with a fresh head when its classes are not <c>numClasses</c>) or a checkpoint (its architecture and widths
/// from Harness's metadata or recognised from its keys and shapes, so channel-pruned models of every architecture
/// load; masked layers restored with their masks). Every random initialisation (the whole network for <c>none</c>,
/// the new head for <c>imagenet</c>) is a function of <c>seed</c> alone.
/// </summary>
public static class ModelLoader
{
    /// <summary>The <c>--arch</c> variant of <c>none</c> and <c>imagenet</c> when none is given: the study's network.</summary>
    public const string DefaultVariant = "efficientnet_b0";

    /// <summary>The network <paramref name="weights"/> names, of the <c>--arch</c> variant <paramref name="arch"/>
    /// (null: <see cref="DefaultVariant"/> for <c>none</c>/<c>imagenet</c>, the checkpoint's own architecture for a
    /// path). A checkpoint of another family than <paramref name="arch"/>'s is an <see cref="ArgumentException"/>.</summary>
    public static IPrunableNetwork LoadNetwork(string weights, string? arch, int numClasses = 10, WeightsResolver? resolver = null, ulong seed = 0)
    {
        if (PretrainedOnnx.IsName(weights))
        {
            if (arch is not null)
                throw new ArgumentException($"--arch {arch}: --weights {PretrainedOnnx.MlNetResNet18} is an ONNX network, whose graph is its architecture (drop --arch)");
            return PretrainedOnnx.Import(numClasses, seed);
        }
        var (architecture, variant) = Architectures.OfVariant(arch ?? DefaultVariant);
        bool imagenet = weights.Equals("imagenet", StringComparison.OrdinalIgnoreCase);
        string? path = WeightsFile(weights, arch, resolver ?? new WeightsResolver());
        if (path is null)
        {
            SeedInitialisation(seed);
            return architecture.Create(variant, numClasses).Build();
        }
        if (!imagenet && OnnxImporter.LooksLikeOnnx(path))
        {
            if (arch is not null)
                throw new ArgumentException($"--arch {arch}: {path} is an ONNX model, whose graph is its architecture (drop --arch)");
            return OnnxImporter.Import(new OnnxImportOptions(path, NumClasses: numClasses, Seed: seed));
        }
        if (imagenet)
        {
            var model = architecture.Create(variant, 1000).Build();
            try
            {
                using (var sd = TorchCheckpoint.Load(path))
                    StateDictLoader.Load(model.Module, sd, strict: true, sourceName: path);
                if (numClasses != 1000)
                {
                    SeedInitialisation(seed);
                    model.ReplaceClassifier(numClasses);
                }
                return model;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        var network = LoadNetwork(path);
        if (arch is null || network.Architecture == architecture.Family) return network;
        string family = network.Architecture;
        network.Dispose();
        throw new ArgumentException($"--arch {variant}: {path} holds a {family} network, not a {architecture.Family}");
    }

    /// <summary>The name of the network <paramref name="weights"/> and <paramref name="arch"/> give, for file and run
    /// names: the <c>--arch</c> variant, the pretrained network's name (<c>mlnet_resnet18</c>), or an ONNX model's
    /// file name (letters, digits, '-' and '_'). A checkpoint path is named by <paramref name="arch"/>.</summary>
    public static string NetworkName(string weights, string? arch)
    {
        if (PretrainedOnnx.IsName(weights)) return weights.ToLowerInvariant().Replace('-', '_');
        if (weights is not ("none" or "imagenet") && OnnxImporter.LooksLikeOnnx(weights))
            return new string(Path.GetFileNameWithoutExtension(weights).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
        return arch ?? DefaultVariant;
    }

    /// <summary>The file <paramref name="weights"/> names for the <c>--arch</c> variant <paramref name="arch"/> (null for
    /// <c>none</c>; for <c>imagenet</c>, torchvision's checkpoint of that variant, downloaded when not cached).</summary>
    public static string? WeightsFile(string weights, string? arch, WeightsResolver resolver)
    {
        if (PretrainedOnnx.IsName(weights)) return PretrainedOnnx.RequireModel();
        var (architecture, variant) = Architectures.OfVariant(arch ?? DefaultVariant);
        string? imageNetFile = architecture.ImageNetFile(variant);
        if (weights.Equals("imagenet", StringComparison.OrdinalIgnoreCase) && imageNetFile is null)
            throw new ArgumentException($"--weights imagenet: torchvision publishes no ImageNet checkpoint of {variant}");
        return resolver.Resolve(weights, imageNetFile ?? WeightsResolver.ImageNetFileName);
    }

    private static void SeedInitialisation(ulong seed) => TorchSharp.torch.manual_seed(unchecked((long)seed));

    /// <summary>Refuses a model whose head does not have the data's number of classes (a 1000-class checkpoint on
    /// CIFAR-10 would otherwise report 0% accuracy without a word).</summary>
    public static void RequireClasses(IPrunableNetwork model, int dataClasses, string weights)
    {
        if (model.NumClasses != dataClasses)
            throw new ArgumentException(
                $"--weights '{weights}': the model's head has {model.NumClasses} classes but the data has {dataClasses}");
    }

    /// <summary>Rebuilds a network of any architecture (<see cref="Architectures"/>) from a checkpoint alone: the
    /// architecture and widths from its metadata (or recognised from its keys and rebuilt from its shapes), masks from
    /// its <c>*_mask</c> tensors, then a strict load. The widths are validated and checked against the tensors'
    /// shapes before any layer is built: bad numbers are a <see cref="CheckpointFormatException"/>, widths that
    /// disagree with the tensors (or masks that disagree with their weights) a <see cref="CheckpointMismatchException"/>.</summary>
    public static IPrunableNetwork LoadNetwork(string path)
    {
        if (OnnxImporter.LooksLikeOnnx(path)) return OnnxImporter.Import(new OnnxImportOptions(path));
        var (sd, meta) = CheckpointFile.Load(path);
        using var _ = sd;
        var widths = ReadWidths(path, sd, meta);
        var model = widths.Build();
        try
        {
            var badMasks = new List<string>();
            var masks = new List<(PrunableLayer Layer, Tensor Mask)>();
            foreach (var (name, layer) in model.PrunableLayers())
                if (sd.TryGetValue($"{name}.weight_mask", out var mask))
                {
                    if (mask!.shape.SequenceEqual(layer.Weight.shape)) masks.Add((layer, mask));
                    else badMasks.Add($"{name}.weight_mask: model [{string.Join(", ", layer.Weight.shape)}], checkpoint [{string.Join(", ", mask.shape)}]");
                }
            if (badMasks.Count > 0) throw new CheckpointMismatchException(path, [], [], badMasks);
            foreach (var (layer, mask) in masks) layer.ApplyMask(mask);
            StateDictLoader.Load(model.Module, sd, strict: true, sourceName: path);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The checked widths of the network a checkpoint holds.</summary>
    private static INetworkWidths ReadWidths(string path, StateDict sd, string? meta)
    {
        // Harness's metadata records the widths exactly (residual flags included); a file from elsewhere is
        // rebuilt from its tensor shapes alone.
        string origin = meta is null ? "its tensor shapes" : "its metadata";
        INetworkWidths widths;
        try
        {
            var shapes = sd.Shapes();
            widths = meta is not null
                ? Architectures.FromMetadata(meta).FromMetadata(meta)
                : Architectures.Detect(shapes.Keys.ToList()).FromShapes(shapes);
            widths.Validate();
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new CheckpointFormatException($"{path}: the Harness metadata record is not valid ({ex.Message})", ex);
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException)
        {
            throw new CheckpointFormatException($"{path}: the widths from {origin} are not valid: {ex.Message}", ex);
        }
        var missing = new List<string>();
        var mismatched = new List<string>();
        foreach (var (key, shape) in widths.WeightShapes())
        {
            string orig = key[..^".weight".Length] + ".weight_orig";
            if (!sd.TryGetValue(key, out var t) && !sd.TryGetValue(orig, out t)) missing.Add(key);
            else if (!t!.shape.SequenceEqual(shape))
                mismatched.Add($"{key}: model [{string.Join(", ", shape)}], checkpoint [{string.Join(", ", t.shape)}]");
        }
        if (missing.Count > 0 || mismatched.Count > 0)
            throw new CheckpointMismatchException($"{path} (widths from {origin})", missing, [], mismatched);
        return widths;
    }

    /// <summary>Saves a model (masked or not, pruned or not) so that <see cref="LoadNetwork(string)"/> reads it back, in
    /// the format the extension names (<see cref="CheckpointFile"/>: <c>.safetensors</c>, <c>.hsp</c>, else PyTorch's, which
    /// <c>torch.load</c> reads); the widths go into the metadata record. A folded model (no BatchNorms) is
    /// refused: its tensors are not those of torchvision's EfficientNet, so no checkpoint reader could load it.</summary>
    public static void Save(IPrunableNetwork model, string path)
    {
        if (BatchNormFolding.IsFolded(model))
            throw new InvalidOperationException(
                $"{path}: a model with folded BatchNorms is for inference only and is not saved as a checkpoint (save the unfolded model)");
        using var sd = StateDict.FromModule(model.Module);
        CheckpointFile.Save(path, sd, model.MetadataJson());
    }

    /// <summary>An independent copy of an unmasked network: the same widths and tensors, fresh modules.</summary>
    public static IPrunableNetwork Copy(IPrunableNetwork model)
    {
        var copy = model.Rebuild(new Dictionary<string, int>());
        try
        {
            using var sd = StateDict.FromModule(model.Module);
            StateDictLoader.Load(copy.Module, sd);
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>True when any layer of the model is masked.</summary>
    public static bool IsMasked(IPrunableNetwork model) => model.PrunableLayers().Any(l => l.Layer.IsMasked);
}
