namespace Harness.Pruning.FineGrained;

/// <summary>
/// One fine-grained pruning step. <see cref="Amount"/> is a fraction of the units still unpruned (rounded as
/// PyTorch rounds, half to even) or, with <see cref="AmountIsCount"/>, an absolute number of units.
/// <see cref="Include"/> and <see cref="Exclude"/> choose the layers by <see cref="LayerSelection"/>'s rule
/// (names or regular expressions; default: every Conv2d and Linear weight).
/// </summary>
public sealed record FineGrainedOptions
{
    public IFineGrainedMethod Method { get; init; } = FineGrainedMethods.L1;
    public PruningScope Scope { get; init; } = PruningScope.Global;
    public Granularity Granularity { get; init; } = Granularity.Element;
    public double Amount { get; init; } = 0.2;
    public bool AmountIsCount { get; init; }
    public int N { get; init; } = 2;
    public int M { get; init; } = 4;
    public long Seed { get; init; } = 42;
    public IReadOnlyList<string> Include { get; init; } = [];
    public IReadOnlyList<string> Exclude { get; init; } = [];
    /// <summary>Structured granularity: the dimension whose slices are pruned (0 output, 1 input channels).</summary>
    public int Dim { get; init; }
    /// <summary>Structured granularity: the norm that ranks slices (1 or 2; ln_structured's <c>n</c>).</summary>
    public int Norm { get; init; } = 1;

    /// <summary>How many of <paramref name="available"/> units to prune: PyTorch's
    /// <c>_compute_nparams_toprune</c> with its validation.</summary>
    public long UnitsToPrune(long available)
    {
        if (AmountIsCount)
        {
            if (Amount < 0 || Amount != Math.Floor(Amount) || double.IsNaN(Amount))
                throw new ArgumentException($"amount {Amount}: a count must be a non-negative whole number");
            if (Amount > available)
                throw new ArgumentException($"amount {Amount} is more than the {available} units that can be pruned");
            return (long)Amount;
        }
        if (double.IsNaN(Amount) || Amount < 0 || Amount > 1)
            throw new ArgumentException($"amount {Amount}: a fraction must lie in [0, 1]");
        return (long)Math.Round(Amount * available, MidpointRounding.ToEven);
    }

    public void Validate()
    {
        if (Granularity == Granularity.NM)
        {
            if (M < 1 || N < 0 || N > M)
                throw new ArgumentException($"N:M pattern {N}:{M}: need 0 ≤ N ≤ M and M ≥ 1");
        }
        else
        {
            if (Granularity == Granularity.Structured)
            {
                if (Dim is not (0 or 1))
                    throw new ArgumentException($"--dim {Dim}: structured pruning takes 0 (output channels) or 1 (input channels)");
                if (Norm is not (1 or 2))
                    throw new ArgumentException($"--norm {Norm}: structured pruning ranks slices by the L1 or L2 norm (1 or 2)");
                if (Scope != PruningScope.Layer)
                    throw new ArgumentException(
                        "--granularity Structured ranks the slices of each layer on its own (torch.nn.utils.prune.ln_structured): use --scope Layer");
            }
            UnitsToPrune(AmountIsCount ? Math.Max((long)Math.Ceiling(Math.Max(Amount, 0)), 0) : 1);
        }
    }
}
