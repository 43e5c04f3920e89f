namespace Harness.Training;

/// <summary>
/// The study's fine-tuning recipe: cross-entropy, SGD (lr 0.01, momentum 0.9, weight decay 5e-4) over trainable
/// parameters only, StepLR (step 5, gamma 0.1), early layers frozen (<c>features.0</c>–<c>features.2</c>: the stem
/// and the first two stages, by default), batch 128, best-validation model kept.
/// </summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 0.01;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    public int StepSize { get; init; } = 5;
    public double Gamma { get; init; } = 0.1;
    /// <summary>Indices under <c>features</c> whose parameters are frozen (requires_grad false, not optimised).</summary>
    public IReadOnlyList<int> FrozenStages { get; init; } = [0, 1, 2];
    public int ImageSize { get; init; } = 224;
    public ulong Seed { get; init; } = 42;

    public void Validate()
    {
        if (Epochs < 0) throw new ArgumentException($"--epochs must not be negative (got {Epochs})");
        if (BatchSize < 1) throw new ArgumentException($"--batch-size must be at least 1 (got {BatchSize})");
        if (!(LearningRate > 0)) throw new ArgumentException($"learning rate must be positive (got {LearningRate})");
        if (StepSize < 1) throw new ArgumentException($"StepLR step must be at least 1 (got {StepSize})");
        if (ImageSize < 32) throw new ArgumentException($"--image-size must be at least 32 (got {ImageSize})");
    }

    /// <summary>StepLR: the learning rate of an epoch (0-based).</summary>
    public double LearningRateAt(int epoch) => LearningRate * Math.Pow(Gamma, epoch / StepSize);
}
