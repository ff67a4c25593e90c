using BenchmarkDotNet.Running;
using RegistryPolicy.Benchmarks.Resolution;

// 'generate-snapshot FILE NAMESPACES' writes the synthetic cluster used by the whole-process measurements (docs/performance.md).
if (args is ["generate-snapshot", string file, string count])
{
    using var output = new StreamWriter(file);
    KymaCluster.WriteJson(int.Parse(count, System.Globalization.CultureInfo.InvariantCulture), output);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
public partial class Program;
