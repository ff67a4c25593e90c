using BenchmarkDotNet.Running;
using RegistryPolicy.Benchmarks.Resolution;

// 'generate-snapshot FILE NAMESPACES' writes the synthetic cluster used by the whole-process measurements (docs/performance.md).
if (args is ["generate-snapshot", string file, string count])
{
    using var output = new StreamWriter(file);
    KymaCluster.WriteJson(int.Parse(count, System.Globalization.CultureInfo.InvariantCulture), output);
    return 0;
}

// 'controller-converge NAMESPACES SECRETS_PER_NAMESPACE WRITES_PER_SECOND [GC_CONSERVE]': the whole-process controller
// measurement (docs/performance.md). RP_CONTROLLER_DLL runs another build's registry-policy.dll (a baseline) instead of this one's;
// RP_CONTROLLER_GC_HEAP_HARD_LIMIT (hex bytes) gives the controller the heap limit a container memory limit would.
if (args is ["controller-converge", string ns, string perNamespace, string rate, ..] && args.Length <= 5)
{
    return await RegistryPolicy.Benchmarks.Controller.ConvergeMeasurement.RunAsync(int.Parse(ns, System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(perNamespace, System.Globalization.CultureInfo.InvariantCulture), double.Parse(rate, System.Globalization.CultureInfo.InvariantCulture),
        args.Length == 5 ? args[4] : null);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
public partial class Program;
