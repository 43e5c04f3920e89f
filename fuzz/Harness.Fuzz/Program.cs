using Harness.Fuzz;

// harness-fuzz list | run TARGET | replay TARGET FILE... | seeds FOLDER   (fuzz/README.md)
// Instrumented code (Harness.*) may only run inside the fuzzed action under afl-fuzz: its coverage map is the shared
// memory SharpFuzz attaches there. So the native setup runs in the action (run) or before anything else (other modes).
static void Prepare()
{
    Harness.Runtime.NativeSetup.Apply();
    TorchSharp.torch.set_num_threads(1);
}
string usage = "usage: harness-fuzz list | run TARGET | replay TARGET FILE... | seeds FOLDER";
if (args.Length == 0) { Console.Error.WriteLine(usage); return 2; }
switch (args[0])
{
    case "list":
        foreach (var t in FuzzTargets.All) Console.WriteLine($"{t.Name}\t{t.Dictionary ?? "-"}\t{t.Description}");
        return 0;
    case "run" when args.Length == 2:
        {
            var target = FuzzTargets.Named(args[1]);
            bool first = true;
            SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
            {
                if (first) Prepare();
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                // The first input of a process also loads libtorch, SkiaSharp and ONNX Runtime.
                var outcome = FuzzContract.Check(target, buffer.GetBuffer().AsSpan(0, (int)buffer.Length), first ? TimeSpan.FromSeconds(30) : null);
                first = false;
                if (outcome.Verdict == FuzzVerdict.Finding) throw new FuzzFindingException(outcome.Detail, outcome.Exception);
            });
            return 0;
        }
    case "replay" when args.Length >= 3:
        {
            Prepare();
            var target = FuzzTargets.Named(args[1]);
            int findings = 0;
            FuzzContract.Check(target, [], TimeSpan.FromSeconds(30)); // native libraries loaded before timing
            foreach (var file in args[2..])
            {
                var outcome = FuzzContract.Check(target, File.ReadAllBytes(file));
                Console.WriteLine($"{Path.GetFileName(file)}: {outcome.Verdict} in {outcome.Elapsed.TotalMilliseconds:F0} ms, peak {outcome.PeakBytes >> 20} MiB: {outcome.Detail}");
                if (outcome.Verdict == FuzzVerdict.Finding)
                {
                    findings++;
                    if (outcome.Exception is not null) Console.WriteLine(outcome.Exception);
                }
            }
            return findings == 0 ? 0 : 1;
        }
    case "seeds" when args.Length == 2:
        Prepare();
        FuzzSeeds.Write(args[1]);
        return 0;
    default:
        Console.Error.WriteLine(usage);
        return 2;
}
