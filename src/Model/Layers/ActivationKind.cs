namespace Harness.Model.Layers;

/// <summary>The activation a <see cref="ConvNormActivation"/> ends with (its child <c>"2"</c>): none, SiLU
/// (EfficientNet), ReLU (ResNet) or ReLU6 (MobileNetV2).</summary>
public enum ActivationKind { None, SiLU, ReLU, ReLU6 }
