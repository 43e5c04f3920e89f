using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Training;

/// <summary>
/// What a training step minimises: cross-entropy, optionally mixed with knowledge distillation from a teacher
/// (Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural Network", 2015: with temperature T and weight A,
/// A·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − A)·CE(s, y), the KL averaged over the batch; T² keeps the soft
/// targets' gradients on the scale of the hard ones), plus the network-slimming sparsity term on BatchNorm scales
/// (Liu et al., "Learning Efficient Convolutional Networks through Network Slimming", ICCV 2017: λ·Σ|γ| over every
/// trainable BatchNorm weight, whose gradient adds λ·sign(γ) to each γ).
/// </summary>
public sealed record TrainingObjective
{
    /// <summary>The teacher (evaluated in eval mode without gradients); null for none.</summary>
    public nn.Module<Tensor, Tensor>? Teacher { get; init; }

    public double Temperature { get; init; } = 4.0;

    /// <summary>Weight A of the distillation term (1 − A for the cross-entropy).</summary>
    public double Alpha { get; init; } = 0.9;

    /// <summary>λ of the BatchNorm-scale L1 term; 0 for none.</summary>
    public double BatchNormL1 { get; init; }

    public static TrainingObjective CrossEntropy { get; } = new();

    public void Validate()
    {
        if (!(Temperature > 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"--kd-temperature must be positive (got {Temperature})");
        if (!(Alpha >= 0 && Alpha <= 1)) throw new ArgumentException($"--kd-alpha must lie in [0, 1] (got {Alpha})");
        if (!(BatchNormL1 >= 0) || double.IsInfinity(BatchNormL1)) throw new ArgumentException($"--bn-l1 must be 0 or more (got {BatchNormL1})");
    }

    /// <summary>The loss of one batch, given the student's logits (and its module, for the BatchNorm term).</summary>
    public Tensor Loss(nn.Module<Tensor, Tensor> student, Tensor images, Tensor logits, Tensor labels)
    {
        var loss = nn.functional.cross_entropy(logits, labels);
        if (Teacher is not null)
        {
            Tensor soft;
            using (no_grad())
            {
                bool wasTraining = Teacher.training;
                Teacher.eval();
                soft = nn.functional.log_softmax(Teacher.call(images) / Temperature, 1);
                Teacher.train(wasTraining);
            }
            // Σ p_t (log p_t − log p_s) over classes and batch, divided by the batch (PyTorch's reduction='batchmean'),
            // the teacher's log-probabilities passed as such (log_target: TorchSharp's default differs from PyTorch's).
            var kl = nn.functional.kl_div(nn.functional.log_softmax(logits / Temperature, 1), soft, reduction: nn.Reduction.Sum, log_target: true) / logits.shape[0];
            loss = Alpha * Temperature * Temperature * kl + (1 - Alpha) * loss;
        }
        if (BatchNormL1 > 0)
        {
            var scales = student.modules().OfType<BatchNorm2d>().Select(bn => bn.weight).Where(w => w is not null && w.requires_grad).ToList();
            if (scales.Count > 0)
                loss = loss + BatchNormL1 * stack(scales.Select(w => w!.abs().sum()).ToList()).sum();
        }
        return loss;
    }
}
