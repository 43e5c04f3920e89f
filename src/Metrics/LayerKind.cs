namespace Harness.Metrics;

/// <summary>How the MAC counter treats a module it saw run.</summary>
public enum LayerKind
{
    /// <summary>A 2-d convolution (plain or grouped or depthwise); its weight decides the cost.</summary>
    Convolution,
    /// <summary>A fully connected layer.</summary>
    Linear,
    /// <summary>A 2-d batch normalisation.</summary>
    BatchNorm,
    /// <summary>An adaptive average pool.</summary>
    AdaptiveAvgPool,
    /// <summary>The squeeze-excitation block's final <c>scale × input</c> multiplication (counted on the block).</summary>
    ExcitationScale,
    /// <summary>A global average pool the module's forward calls as a function (torchvision's MobileNetV2:
    /// <c>adaptive_avg_pool2d(x, (1, 1))</c>), counted on that module: thop sees no module and counts nothing,
    /// torchprofile's <c>aten::adaptive_avg_pool2d</c> handler counts the pooled elements.</summary>
    FunctionalAveragePool,
    /// <summary>An imported graph network's operators that run as functions, not modules (global pools, broadcast
    /// multiplications), counted on the network from the node list: <see cref="GraphOperatorMacs"/>.</summary>
    GraphOperators,
    /// <summary>A module that costs no MACs in either convention (activations, dropout, stochastic depth,
    /// flatten, identity, max pooling).</summary>
    Free,
}
