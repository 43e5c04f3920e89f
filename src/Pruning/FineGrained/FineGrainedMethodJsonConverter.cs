using Harness.Pruning.Criteria;

namespace Harness.Pruning.FineGrained;

/// <summary>JSON form of an <see cref="IFineGrainedMethod"/>: its name.</summary>
public sealed class FineGrainedMethodJsonConverter() : CriterionJsonConverter<IFineGrainedMethod>(() => FineGrainedMethods.Registry);
