using System.CommandLine;

namespace Harness.Cli.Commands;

/// <summary><c>export</c>: writes a model in another format for inference elsewhere.</summary>
public static class ExportCommand
{
    public static Command Create() => new("export", "Export a model for inference")
    {
        ExportOnnxCommand.Create(),
    };
}
