namespace Harness.Pruning.Criteria;

/// <summary>What every pruning criterion shows the rest of Harness: the name options, configuration files and
/// manifests use, the sentence help texts print, and whether it needs the loss gradients of calibration batches on
/// the weights (<c>Harness.Training.TaylorCalibration</c>) before it can score.</summary>
public interface INamedCriterion
{
    /// <summary>The name on the command line and in files (<c>L1</c>, <c>Taylor</c>…), matched ignoring case.</summary>
    string Name { get; }

    /// <summary>One clause for help texts (what it ranks by).</summary>
    string Description { get; }

    /// <summary>True when scoring reads the weights' accumulated gradients.</summary>
    bool NeedsGradients { get; }
}
