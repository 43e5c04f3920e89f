using System.CommandLine;

namespace Harness.Cli;

/// <summary>Runs a parsed command line; turns user errors into one line on stderr and a non-zero exit code.</summary>
public static class CliRunner
{
    public static int Run(RootCommand root, string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var output = stdout ?? Console.Out;
        var error = stderr ?? Console.Error;
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (Exception ex) when (UserError.IsUserError(ex))
        {
            error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    /// <summary>Runs <paramref name="body"/> with a token that Ctrl-C cancels (the run stops after its last saved
    /// epoch); returns 130 when cancelled.</summary>
    public static int WithCancellation(Func<CancellationToken, int> body)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            int code = body(cancel.Token);
            return cancel.IsCancellationRequested ? 130 : code;
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }
}
