using Harness.Pruning.Criteria;

namespace Harness.Pruning.FineGrained;

/// <summary>The fine-grained ranking methods Harness offers, in the order help texts list them.</summary>
public static class FineGrainedMethods
{
    public static IFineGrainedMethod L1 { get; } = new L1Method();
    public static IFineGrainedMethod Random { get; } = new RandomMethod();
    public static IFineGrainedMethod Taylor { get; } = new TaylorMethod();

    public static CriterionRegistry<IFineGrainedMethod> Registry { get; } = new("fine-grained method", L1, Random, Taylor);
}
