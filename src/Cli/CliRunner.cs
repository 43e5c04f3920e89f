using System.CommandLine;

namespace Harness.Cli;

/// <summary>
/// Runs a command line. Every failure is one line on stderr: a parse error or a user error (bad option, bad file)
/// gives <c>error: …</c> and exit 2; anything else is an internal error: <c>internal error: …</c> naming a log file
/// that holds the stack trace, exit 70.
/// </summary>
public static class CliRunner
{
    /// <summary>Where internal-error logs go (the system temporary folder by default, never an output folder).</summary>
    public static string LogFolder { get; set; } = Path.Combine(Path.GetTempPath(), "harness-logs");

    public static int Run(RootCommand root, string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var output = stdout ?? Console.Out;
        var error = stderr ?? Console.Error;
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                error.WriteLine($"error: {string.Join("; ", parse.Errors.Select(e => OneLine(e.Message)).Distinct())} (see --help)");
                return UserError.ExitCode;
            }
            // Progress goes to stderr when it is a terminal, never with --json (stdout then holds one document).
            bool json = parse.CommandResult.Command.Options.OfType<Option<bool>>().FirstOrDefault(o => o.Name == "--json") is { } j && parse.GetValue(j);
            Harness.Runtime.ProgressLine.Terminal =
                !json && ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected ? Console.Error : null;
            if (parse.CommandResult.Command.Options.OfType<Option<int?>>().FirstOrDefault(o => o.Name == "--threads") is { } threads
                && parse.GetValue(threads) is int n)
                TorchSharp.torch.set_num_threads(n);
            // Process-wide, so set on every invocation (tests run many in one process): the option's value or auto.
            Harness.Runtime.MemoryLayout.Preferred =
                parse.CommandResult.Command.Options.OfType<Option<string>>().FirstOrDefault(o => o.Name == "--memory-format") is { } format
                && parse.GetValue(format) is string name && Harness.Runtime.MemoryLayout.Parse(name) is { } chosen
                    ? chosen : Harness.Runtime.MemoryFormat.Auto;
            // Asked for by name, a layout whose convolutions this CPU's libtorch computes wrong is refused, not run.
            if (Harness.Runtime.MemoryLayout.Preferred == Harness.Runtime.MemoryFormat.ChannelsLast && Harness.Runtime.MemoryLayout.ChannelsLastFault is { } fault)
            {
                Harness.Runtime.MemoryLayout.Preferred = Harness.Runtime.MemoryFormat.Auto;
                throw new ArgumentException($"--memory-format channels-last: {fault}; use auto (contiguous here) or contiguous");
            }
            // libtorch's NNPACK warnings, where NNPACK cannot run, are not ours to print (help loads no libtorch).
            if (parse.Action is not System.CommandLine.Help.HelpAction)
                Harness.Runtime.NativeSetup.QuietNnpack();
            return parse.Invoke(config);
        }
        catch (Exception ex) when (UserError.IsUserError(ex))
        {
            error.WriteLine($"error: {OneLine(ex.Message)}");
            return UserError.ExitCode;
        }
        catch (Exception ex)
        {
            error.WriteLine($"internal error: {ex.GetType().Name}: {OneLine(ex.Message)} (a bug in Harness; {WriteLog(args, ex)})");
            return UserError.InternalErrorExitCode;
        }
    }

    /// <summary>A message as one line (an error is always one line on stderr).</summary>
    public static string OneLine(string message) =>
        string.Join(" ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string WriteLog(string[] args, Exception ex)
    {
        try
        {
            Directory.CreateDirectory(LogFolder);
            string path = Path.Combine(LogFolder, $"crash-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.log");
            File.WriteAllText(path, $"harness {string.Join(' ', args)}\n{DateTime.UtcNow:O}\n{ex}\n");
            return $"the stack trace is in {path}";
        }
        catch (Exception logError) when (logError is IOException or UnauthorizedAccessException)
        {
            return $"no log could be written: {logError.Message}";
        }
    }

    /// <summary>Runs <paramref name="body"/> with a token that Ctrl-C (SIGINT) or SIGTERM cancels — SIGTERM is what
    /// <c>kill</c>, <c>scancel</c> and a Slurm time limit send first — so the run stops after its last saved step, its
    /// lock released and no temporary file left; returns 130 after Ctrl-C, 143 after SIGTERM (128 + the signal, as a
    /// shell reports a process the signal ended).</summary>
    public static int WithCancellation(Func<CancellationToken, int> body)
    {
        using var cancel = new CancellationTokenSource();
        int signalled = 0;
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; Interlocked.CompareExchange(ref signalled, 130, 0); cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = OperatingSystem.IsWindows() ? null : System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM,
            c => { c.Cancel = true; Interlocked.CompareExchange(ref signalled, 143, 0); cancel.Cancel(); });
        try
        {
            int code = body(cancel.Token);
            return cancel.IsCancellationRequested ? signalled : code;
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }
}
