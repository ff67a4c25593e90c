using System.Diagnostics;
using System.Globalization;
using SharpFuzz;

namespace RegistryPolicy.Fuzz;

/// <summary>
/// <c>RegistryPolicy.Fuzz TARGET</c> runs one target under afl-fuzz (SharpFuzz's out-of-process fork server; without
/// afl-fuzz it runs the target once on standard input). The other commands work on files without AFL:
/// <c>list</c>, <c>replay TARGET PATH... [--slow-ms N]</c> (one line per input: ok, SLOW or CRASH with the exception, its
/// signature and the stack; exit 1 if any input crashed or was slow), and <c>minimize TARGET IN OUT</c> (shrinks a crashing
/// input while it keeps the same signature).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: RegistryPolicy.Fuzz TARGET | list | replay TARGET PATH... [--slow-ms N] | minimize TARGET IN OUT");
            Console.Error.WriteLine($"targets: {string.Join(", ", TargetNames.All)}");
            return 2;
        }

        switch (args[0])
        {
            case "list":
                Console.WriteLine(string.Join("\n", TargetNames.All));
                return 0;
            case "replay" when args.Length >= 3:
                return Replay(args[1], args[2..]);
            case "minimize" when args.Length == 4:
                return Minimize(args[1], args[2], args[3]);
            default:
                string target = args[0];
                if (!TargetNames.All.Contains(target))
                {
                    Console.Error.WriteLine($"unknown target '{target}'; targets: {string.Join(", ", TargetNames.All)}");
                    return 2;
                }

                Fuzzer.OutOfProcess.Run(stream =>
                {
                    using var buffer = new MemoryStream();
                    stream.CopyTo(buffer);
                    Targets.Run(target, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
                });
                return 0;
        }
    }

    private static int Replay(string target, string[] arguments)
    {
        int slowMs = 1000;
        var paths = new List<string>();
        for (int i = 0; i < arguments.Length; i++)
        {
            if (arguments[i] == "--slow-ms" && i + 1 < arguments.Length)
            {
                slowMs = int.Parse(arguments[++i], CultureInfo.InvariantCulture);
            }
            else
            {
                paths.Add(arguments[i]);
            }
        }

        var files = paths.SelectMany<string, string>(p => Directory.Exists(p)
            ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.') && Path.GetFileName(f) != "README.txt").Order(StringComparer.Ordinal)
            : [p]).ToList();
        Targets.Run(target, "{}"u8); // warm up: JIT and lazy fixtures are not the input's cost
        int bad = 0;
        var distinct = new SortedDictionary<string, List<(long Size, string File)>>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            byte[] input = File.ReadAllBytes(file);
            Outcome outcome = Execute(target, input, TimeSpan.FromSeconds(Math.Max(30, slowMs * 10 / 1000)));
            string ms = outcome.Elapsed.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture);
            if (outcome.Exception is { } e)
            {
                bad++;
                Console.WriteLine($"CRASH {ms} ms {file}");
                Console.WriteLine($"  {e.GetType().FullName}: {FirstLines(e.Message, 12)}");
                Console.WriteLine($"  signature: {Signature(e)}");
                Remember(Signature(e), input.Length, file);
                foreach (string frame in Frames(e).Take(12))
                {
                    Console.WriteLine($"    at {frame}");
                }
            }
            else if (outcome.TimedOut || outcome.Elapsed.TotalMilliseconds > slowMs)
            {
                bad++;
                Console.WriteLine($"SLOW {ms} ms {file}{(outcome.TimedOut ? " (abandoned)" : "")}");
                Remember($"slower than {slowMs} ms", input.Length, file);
            }
            else
            {
                Console.WriteLine($"ok {ms} ms {file}");
            }
        }

        Console.WriteLine($"{target}: {files.Count} input(s), {bad} crashed or slow");
        if (distinct.Count > 0)
        {
            Console.WriteLine($"distinct findings: {distinct.Count}");
            foreach (var (signature, found) in distinct)
            {
                var (size, smallest) = found.Min();
                Console.WriteLine($"  {found.Count} x {signature}\n      smallest: {smallest} ({size} bytes)");
            }
        }

        return bad == 0 ? 0 : 1;

        void Remember(string signature, long size, string file)
        {
            if (!distinct.TryGetValue(signature, out var list))
            {
                distinct[signature] = list = [];
            }

            list.Add((size, file));
        }
    }

    /// <summary>Delta debugging (ddmin) over bytes, keeping the original exception signature; then single bytes.</summary>
    private static int Minimize(string target, string inputPath, string outputPath)
    {
        byte[] input = File.ReadAllBytes(inputPath);
        Outcome first = Execute(target, input, TimeSpan.FromSeconds(30));
        if (first.Exception is null)
        {
            Console.Error.WriteLine($"{inputPath} does not crash target {target}; nothing to minimise");
            return 1;
        }

        string signature = Signature(first.Exception);
        bool Keeps(byte[] candidate) => Execute(target, candidate, TimeSpan.FromSeconds(5)).Exception is { } e && Signature(e) == signature;
        List<byte> current = [.. input];
        int granularity = 2;
        var clock = Stopwatch.StartNew();
        while (current.Count >= 2 && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            int chunk = (int)Math.Ceiling(current.Count / (double)granularity);
            bool reduced = false;
            for (int start = 0; start < current.Count; start += chunk)
            {
                List<byte> complement = [.. current.Take(start), .. current.Skip(start + chunk)];
                if (complement.Count > 0 && Keeps([.. complement]))
                {
                    current = complement;
                    granularity = Math.Max(granularity - 1, 2);
                    reduced = true;
                    break;
                }
            }

            if (!reduced)
            {
                if (granularity >= current.Count)
                {
                    break;
                }

                granularity = Math.Min(granularity * 2, current.Count);
            }
        }

        File.WriteAllBytes(outputPath, [.. current]);
        Console.WriteLine($"{inputPath}: {input.Length} -> {current.Count} bytes, signature {signature}");
        return 0;
    }

    private sealed record Outcome(Exception? Exception, TimeSpan Elapsed, bool TimedOut);

    private static Outcome Execute(string target, byte[] input, TimeSpan timeout)
    {
        Exception? caught = null;
        var clock = Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            try
            {
                Targets.Run(target, input);
            }
#pragma warning disable CA1031 // Any exception that escapes a target is the finding being reported.
            catch (Exception e)
#pragma warning restore CA1031
            {
                caught = e;
            }
        }, maxStackSize: 8 * 1024 * 1024) { IsBackground = true };
        thread.Start();
        bool finished = thread.Join(timeout);
        return new Outcome(caught, clock.Elapsed, !finished);
    }

    /// <summary>Exception type and top frame, plus the first frame inside RegistryPolicy when that is another one.</summary>
    internal static string Signature(Exception e)
    {
        if (e is ContractViolationException contract)
        {
            return $"{nameof(ContractViolationException)}:{contract.Check}";
        }

        List<string> frames = Frames(e, withFiles: false).ToList();
        string top = frames.FirstOrDefault() ?? "?";
        string? ours = frames.FirstOrDefault(f => f.StartsWith("RegistryPolicy.", StringComparison.Ordinal) && !f.StartsWith("RegistryPolicy.Fuzz.", StringComparison.Ordinal));
        return ours is null || ours == top ? $"{e.GetType().FullName} at {top}" : $"{e.GetType().FullName} at {top} via {ours}";
    }

    private static IEnumerable<string> Frames(Exception e, bool withFiles = true)
    {
        foreach (StackFrame frame in new StackTrace(e, fNeedFileInfo: withFiles).GetFrames())
        {
            System.Reflection.MethodBase? method = frame.GetMethod();
            string name = method is null ? "?" : $"{method.DeclaringType?.FullName}.{method.Name}";
            string? file = withFiles ? frame.GetFileName() : null;
            yield return file is null ? name : $"{name} ({RepositoryRelative(file)}:{frame.GetFileLineNumber()})";
        }
    }

    private static string RepositoryRelative(string file)
    {
        int at = file.Replace('\\', '/').LastIndexOf("/src/RegistryPolicy", StringComparison.Ordinal);
        return at >= 0 ? file[(at + 1)..] : Path.GetFileName(file);
    }

    private static string FirstLines(string text, int count)
    {
        string[] lines = text.Split('\n');
        return string.Join("\n    ", lines.Take(count)) + (lines.Length > count ? $"\n    ... ({lines.Length - count} more lines)" : "");
    }
}
