using System.CommandLine;
using Harness.Cli;
using Harness.Model.Families;

var root = new RootCommand("Harness: pruning research harness for EfficientNet-B0 on CIFAR-10 (TorchSharp).");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
return CliRunner.Run(root, args);
