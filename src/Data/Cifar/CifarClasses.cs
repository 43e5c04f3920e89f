namespace Harness.Data.Cifar;

public static class CifarClasses
{
    /// <summary>CIFAR-10's label names in label order.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
}
