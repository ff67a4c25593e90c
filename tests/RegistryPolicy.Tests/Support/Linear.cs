using System.Diagnostics;

namespace RegistryPolicy.Tests.Support;

/// <summary>
/// Guards against quadratic blow-ups without timing against a fixed budget: the same work on an input four times as large
/// must take less than ten times as long (linear work takes about four times; quadratic, sixteen). Each size is measured
/// after a warm-up, best of three, so noise on a busy machine makes the check pass rather than fail spuriously.
/// </summary>
internal static class Linear
{
    public static void Assert<T>(Func<int, T> input, Action<T> work, int size, string what)
    {
        T small = input(size), large = input(size * 4);
        work(small); // warm up the JIT and caches
        TimeSpan tSmall = Best(() => work(small)), tLarge = Best(() => work(large));
        double ratio = tLarge.TotalMilliseconds / Math.Max(tSmall.TotalMilliseconds, 1);
        Xunit.Assert.True(tLarge < (tSmall * 10) + TimeSpan.FromMilliseconds(40),
            $"{what}: 4x the input took {ratio:F1}x the time ({tSmall.TotalMilliseconds:F0} ms -> {tLarge.TotalMilliseconds:F0} ms); that is not linear");
    }

    private static TimeSpan Best(Action run)
    {
        TimeSpan best = TimeSpan.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            best = clock.Elapsed < best ? clock.Elapsed : best;
        }

        return best;
    }
}
