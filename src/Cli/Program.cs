using Harness.Cli;
using System.CommandLine;

Harness.Runtime.NativeSetup.Apply(); // before libtorch's first convolution
var root = new RootCommand("Harness: fine-grained and channel pruning of convolutional networks (EfficientNet, ResNet, MobileNetV2), trained, measured and exported with TorchSharp.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
return CliRunner.Run(root, args);
