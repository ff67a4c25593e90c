using System.Diagnostics;
using System.Runtime.ExceptionServices;
using RegistryPolicy.Fuzz;
using RegistryPolicy.Tests.Policies;

namespace RegistryPolicy.Tests.Fuzz;

/// <summary>
/// Replays every seed (<c>fuzz/corpus/TARGET/</c>) and every saved finding (<c>fuzz/regressions/TARGET/</c>) through the
/// fuzz target it belongs to, the same method AFL runs (docs/testing.md, "Fuzzing"). A regression file fails here until
/// the bug it reproduces is fixed, and then keeps it fixed; an input that runs longer than a few seconds is a hang.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Abandon = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        string root = PolicySchemaTests.RepositoryRoot();
        foreach (string kind in new[] { "corpus", "regressions" })
        {
            string folder = Path.Combine(root, "fuzz", kind);
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (string targetFolder in Directory.GetDirectories(folder).Order(StringComparer.Ordinal))
            {
                foreach (string file in Directory.GetFiles(targetFolder).Order(StringComparer.Ordinal))
                {
                    data.Add(Path.GetFileName(targetFolder), Path.GetRelativePath(root, file).Replace('\\', '/'));
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Every_corpus_and_regression_input_keeps_its_target_contract(string target, string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(PolicySchemaTests.RepositoryRoot(), file));
        Exception? failure = null;
        var clock = Stopwatch.StartNew();
        // On its own thread (the 8 MiB stack of a main thread, as under AFL) so that a hang fails the test instead of the run.
        var thread = new Thread(() =>
        {
            try
            {
                Targets.Run(target, input);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, maxStackSize: 8 * 1024 * 1024) { IsBackground = true };
        thread.Start();

        Assert.True(thread.Join(Abandon), $"{file} still runs after {Abandon.TotalSeconds} s: a hang");
        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        Assert.True(clock.Elapsed < Slow, $"{file} took {clock.Elapsed.TotalMilliseconds:F0} ms (more than {Slow.TotalSeconds} s): too slow for input of {input.Length} bytes");
    }

    [Fact]
    public void Every_fuzz_target_has_seeds_and_every_input_folder_names_a_target()
    {
        string fuzz = Path.Combine(PolicySchemaTests.RepositoryRoot(), "fuzz");
        foreach (string target in TargetNames.All)
        {
            Assert.True(Directory.Exists(Path.Combine(fuzz, "corpus", target)) && Directory.GetFiles(Path.Combine(fuzz, "corpus", target)).Length > 0,
                $"fuzz/corpus/{target} has no seeds");
        }

        string[] folders = [.. new[] { "corpus", "regressions" }.Select(k => Path.Combine(fuzz, k)).Where(Directory.Exists).SelectMany(Directory.GetDirectories)];
        Assert.All(folders, folder => Assert.Contains(Path.GetFileName(folder), TargetNames.All));
    }
}
