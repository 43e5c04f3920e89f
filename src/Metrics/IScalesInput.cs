namespace Harness.Metrics;

/// <summary>Marks a module whose forward ends with an element-wise multiplication of its input by a scale it
/// computed (squeeze-excitation). The MAC counter charges that <c>aten::mul</c> to the module itself: zero MACs
/// under thop, output elements under torchprofile. Harness.Model's squeeze-excitation is recognised without it.</summary>
public interface IScalesInput;
