using System.CommandLine;
using System.CommandLine.Parsing;

namespace Harness.Cli;

/// <summary>
/// Ranges of the numeric options, checked when the command line is parsed (a value outside gives one line naming
/// the option and the accepted range, exit 2), and the activation-memory estimate that bounds the image size.
/// </summary>
public static class InputRules
{
    /// <summary>Largest image side accepted at all (B0 is trained at 224; 4096 is 334× its pixels).</summary>
    public const int MaxImageSize = 4096;

    /// <summary>The option's value, or the type's default when its token does not parse (the parser reports that
    /// error itself).</summary>
    private static bool TryValue<T>(OptionResult result, out T? value)
    {
        value = default;
        if (result.Tokens.Any(t => !double.TryParse(t.Value, System.Globalization.NumberStyles.Float,
                System.Globalization.CultureInfo.InvariantCulture, out _)))
            return false;
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public static Option<int> AtLeast(this Option<int> option, int min)
    {
        option.Validators.Add(r =>
        {
            if (!TryValue<int>(r, out int v)) return;
            if (v < min) r.AddError($"{option.Name} must be at least {min} (got {v})");
        });
        return option;
    }

    public static Option<int?> AtLeast(this Option<int?> option, int min)
    {
        option.Validators.Add(r =>
        {
            if (TryValue<int?>(r, out int? n) && n is int v && v < min) r.AddError($"{option.Name} must be at least {min} (got {v})");
        });
        return option;
    }

    public static Option<int> ImageSide(this Option<int> option)
    {
        option.Validators.Add(r =>
        {
            if (!TryValue<int>(r, out int v)) return;
            if (v is < 32 or > MaxImageSize) r.AddError($"{option.Name} must lie in 32..{MaxImageSize} (got {v})");
        });
        return option;
    }

    public static Option<int?> ImageSide(this Option<int?> option)
    {
        option.Validators.Add(r =>
        {
            if (TryValue<int?>(r, out int? n) && n is int v && v is < 32 or > MaxImageSize)
                r.AddError($"{option.Name} must lie in 32..{MaxImageSize} (got {v})");
        });
        return option;
    }

    public static Option<int[]> ImageSides(this Option<int[]> option)
    {
        option.Validators.Add(r =>
        {
            foreach (int v in TryValue<int[]>(r, out int[]? all) ? all ?? [] : [])
                if (v is < 32 or > MaxImageSize) r.AddError($"{option.Name} values must lie in 32..{MaxImageSize} (got {v})");
        });
        return option;
    }

    /// <summary>A plain file name: no folder separators, not "." or "..", no leading dot, nothing but letters,
    /// digits, '_', '-', '.' (so that outputs named after it stay inside the output folder).</summary>
    public static Option<T> PlainName<T>(this Option<T> option)
    {
        option.Validators.Add(r =>
        {
            string? v = r.Tokens.Count > 0 ? r.Tokens[^1].Value : null;
            if (v is not null && !IsPlainName(v))
                r.AddError($"{option.Name} '{v}' must be a plain name (letters, digits, '_', '-', '.'; no folders, no leading '.')");
        });
        return option;
    }

    /// <summary>One of <paramref name="values"/> exactly: otherwise one line naming the option, the value
    /// and every accepted value (System.CommandLine's own list spans several lines and omits the option).</summary>
    public static Option<T> OneOf<T>(this Option<T> option, params string[] values)
    {
        option.Validators.Add(r =>
        {
            string? v = r.Tokens.Count > 0 ? r.Tokens[^1].Value : null;
            if (v is not null && !values.Contains(v, StringComparer.Ordinal))
                r.AddError($"{option.Name} '{v}': expected one of {string.Join(", ", values)}");
        });
        return option;
    }

    /// <summary>An option whose value names a criterion of <paramref name="registry"/> (ignoring case), its help text
    /// listing every criterion with its description; an unknown name is one line naming the option and the choices.</summary>
    public static Option<T> Criterion<T>(string name, Harness.Pruning.Criteria.CriterionRegistry<T> registry, string what, T defaultValue)
        where T : class, Harness.Pruning.Criteria.INamedCriterion =>
        new(name)
        {
            Description = $"{what}: {registry.Describe()} (default: {defaultValue.Name})",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => Criterion(r, name, registry),
        };

    /// <summary>Like <see cref="Criterion{T}(string, Harness.Pruning.Criteria.CriterionRegistry{T}, string, T)"/> without a
    /// default (null when the option is absent), for overrides of a configuration file's value.</summary>
    public static Option<T?> OptionalCriterion<T>(string name, Harness.Pruning.Criteria.CriterionRegistry<T> registry, string what, string defaultText)
        where T : class, Harness.Pruning.Criteria.INamedCriterion =>
        new(name)
        {
            Description = $"{what}: {registry.Describe()} (default: {defaultText})",
            CustomParser = r => Criterion(r, name, registry),
        };

    private static T? Criterion<T>(System.CommandLine.Parsing.ArgumentResult r, string name, Harness.Pruning.Criteria.CriterionRegistry<T> registry)
        where T : class, Harness.Pruning.Criteria.INamedCriterion
    {
        string v = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        var found = registry.Find(v);
        if (found is null) r.AddError($"{name} '{v}': expected one of {string.Join(", ", registry.Names)}");
        return found;
    }

    public static bool IsPlainName(string v) =>
        v.Length is > 0 and <= 200 && v[0] != '.' && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    /// <summary>Refuses an output file that is one of the inputs (it would overwrite what it reads).</summary>
    public static void RequireDistinct(string output, string outputOption, string input, string inputOption)
    {
        if (File.Exists(input) && Path.GetFullPath(output) == Path.GetFullPath(input))
            throw new ArgumentException($"{outputOption} '{output}' is the {inputOption} file: choose another output path (the input is never overwritten)");
    }

    /// <summary>Refuses to replace an existing output file unless <paramref name="force"/> says so.</summary>
    public static void RequireNewOrForced(string path, string outputOption, bool force)
    {
        if (File.Exists(path) && !force)
            throw new IOException($"{outputOption} '{path}' already exists (from an earlier run): pass --force to replace it");
    }

    /// <summary>Largest learning rate accepted: SGD's step is applied in float32, and any rate near this one
    /// diverges at once.</summary>
    public const double MaxLearningRate = 1000;

    public static Option<double> LearningRate(this Option<double> option)
    {
        option.Validators.Add(r =>
        {
            if (!TryValue<double>(r, out double v)) return;
            if (!double.IsFinite(v) || v <= 0 || v > MaxLearningRate) r.AddError($"{option.Name} must lie in (0, {MaxLearningRate}] (got {v})");
        });
        return option;
    }

    public static Option<double?> LearningRate(this Option<double?> option)
    {
        option.Validators.Add(r =>
        {
            if (TryValue<double?>(r, out double? d) && d is double v && (!double.IsFinite(v) || v <= 0 || v > MaxLearningRate))
                r.AddError($"{option.Name} must lie in (0, {MaxLearningRate}] (got {v})");
        });
        return option;
    }

    /// <summary>Bytes of activations per input pixel per image, an upper estimate for EfficientNet-B0: evaluation
    /// keeps a few feature maps alive (the widest, 96 channels at half resolution, with its neighbours); training
    /// keeps every activation for the backward pass.</summary>
    public const double EvalBytesPerPixel = 400, TrainBytesPerPixel = 2500;

    /// <summary>Refuses an image size whose estimated activation memory at this batch size exceeds 80% of the
    /// memory this process may use (CPU runs; a GPU's memory is its own).</summary>
    public static void CheckActivationMemory(int imageSize, int batchSize, bool training, string imageOption = "--image-size",
        string batchOption = "--batch-size")
    {
        double perImage = (double)imageSize * imageSize * (training ? TrainBytesPerPixel : EvalBytesPerPixel);
        double needed = perImage * batchSize;
        double available = 0.8 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (needed <= available) return;
        int largest = (int)Math.Floor(Math.Sqrt(available / batchSize / (training ? TrainBytesPerPixel : EvalBytesPerPixel)));
        throw new ArgumentException(
            $"{imageOption} {imageSize} with {batchOption} {batchSize}: {(training ? "training" : "inference")} needs an estimated " +
            $"{needed / 1e9:F1} GB of activations, more than the {available / 1e9:F1} GB available " +
            $"(accepted at this batch size: 32..{Math.Max(32, Math.Min(largest, MaxImageSize))}; or lower {batchOption})");
    }
}
