using Harness.Model.Families;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Parity;

/// <summary>Base of the parity test classes: one exchange folder per class (made before PyTorch runs once for
/// the whole class, removed afterwards) and the comparisons the tests share.</summary>
public abstract class ParityFixture
{
    protected string Exchange { get; private set; } = "";

    /// <summary>Harness's names of the two variants every case runs at, with their configurations (the same
    /// multipliers as <c>VARIANTS</c> in <c>python/harness_parity.py</c>).</summary>
    public static readonly string[] Variants = ["b0", "tiny"];

    public static EfficientNetConfig Config(string variant, int numClasses = 10) => variant switch
    {
        "b0" => EfficientNetConfig.B0(numClasses),
        "tiny" => EfficientNetConfig.Scaled(0.25, 0.34, numClasses),
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, "expected b0 or tiny"),
    };

    [OneTimeSetUp]
    public void CreateExchangeFolder()
    {
        PythonTorch.Require();
        Exchange = Directory.CreateTempSubdirectory($"harness-parity-{GetType().Name}-").FullName;
    }

    [OneTimeTearDown]
    public void DeleteExchangeFolder()
    {
        if (Exchange.Length > 0 && Directory.Exists(Exchange)) Directory.Delete(Exchange, recursive: true);
    }

    protected string In(string name) => Path.Combine(Exchange, name);

    /// <summary>max |actual − expected| / max |expected|.</summary>
    public static double RelativeDifference(Tensor expected, Tensor actual)
    {
        Assert.That(actual.shape, Is.EqualTo(expected.shape), "shapes differ");
        using var scope = NewDisposeScope();
        var e = expected.to(float64);
        var a = actual.to(float64);
        double scale = e.abs().max().item<double>();
        return (a - e).abs().max().item<double>() / Math.Max(scale, 1e-30);
    }

    public static double MaxAbsDifference(Tensor expected, Tensor actual)
    {
        using var scope = NewDisposeScope();
        return (actual.to(float64) - expected.to(float64)).abs().max().item<double>();
    }

    /// <summary>A torchvision-initialised model of a variant, seeded, with random BatchNorm statistics.</summary>
    public static EfficientNet SeededModel(string variant, long seed, int numClasses = 10)
    {
        manual_seed(seed);
        var model = EfficientNet.Create(Config(variant, numClasses));
        RandomBatchNorm.Randomise(model, (int)seed + 1);
        return model;
    }

    protected static void Report(string line) => TestContext.Out.WriteLine(line);
}
