using System.Reflection;
using NetArchTest.Rules;

namespace RegistryPolicy.Tests;

/// <summary>
/// The core's folders form a DAG, each a concept, in this order (docs/architecture.md): a folder may use the folders
/// before it, never one after it or beside it. NetArchTest reads the compiled IL, so every kind of reference counts
/// (fields, signatures, calls, attributes), not only <c>using</c> directives.
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>The folders in dependency order; folders on one line are siblings (neither may use the other).</summary>
    internal static readonly string[][] Layers =
    [
        ["References", "Diagnostics"],
        ["Primitives"],
        ["Documents"],
        ["Credentials"],
        ["Snapshots"],
        ["Policies"],
        ["Resolution"],
        ["Pulls", "Swap"],
        ["Mirrors"],
        ["WhatIf"],
        ["Suites"],
    ];

    private static readonly Assembly Core = typeof(RegistryPolicy.References.ImageReference).Assembly;

    public static TheoryData<string> Folders => [.. Layers.SelectMany(l => l)];

    [Theory]
    [MemberData(nameof(Folders))]
    public void A_folder_uses_only_the_folders_before_it(string folder)
    {
        int rank = Array.FindIndex(Layers, l => l.Contains(folder));
        string[] forbidden = [.. Layers.Skip(rank).SelectMany(l => l).Where(f => f != folder).Select(f => "RegistryPolicy." + f)];

        TestResult result = Types.InAssembly(Core).That().ResideInNamespace("RegistryPolicy." + folder)
            .ShouldNot().HaveDependencyOnAny(forbidden).GetResult();

        Assert.True(result.IsSuccessful, $"RegistryPolicy.{folder} uses a folder that comes later or beside it: " +
            string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void The_check_sees_real_dependencies_so_it_can_fail()
    {
        // Resolution does use Policies and Snapshots: the reader of the IL must find that.
        Assert.NotEmpty(Types.InAssembly(Core).That().ResideInNamespace("RegistryPolicy.Resolution").And().HaveDependencyOn("RegistryPolicy.Policies").GetTypes());
        Assert.False(Types.InAssembly(Core).That().ResideInNamespace("RegistryPolicy.WhatIf")
            .ShouldNot().HaveDependencyOnAny("RegistryPolicy.Resolution").GetResult().IsSuccessful);
    }

    [Fact]
    public void Every_type_of_the_core_is_in_one_of_the_folders()
    {
        string[] known = [.. Layers.SelectMany(l => l).Select(f => "RegistryPolicy." + f)];
        string[] stray = [.. Core.GetTypes()
            .Where(t => t.Namespace is not null && !t.Namespace.StartsWith("System", StringComparison.Ordinal) && !t.Name.StartsWith('<') && t.Namespace != "Microsoft.CodeAnalysis")
            .Where(t => !known.Any(k => t.Namespace == k || t.Namespace!.StartsWith(k + ".", StringComparison.Ordinal)))
            .Select(t => t.FullName!)];

        Assert.True(stray.Length == 0, "types outside the folder DAG: " + string.Join(", ", stray));
    }

    [Fact]
    public void The_cli_and_the_host_packages_see_no_internals_of_the_core()
    {
        string[] friends = [.. Core.GetCustomAttributes<System.Runtime.CompilerServices.InternalsVisibleToAttribute>().Select(a => a.AssemblyName)];

        Assert.DoesNotContain("registry-policy", friends);
        Assert.All(friends, f => Assert.True(f is "RegistryPolicy.Tests" or "RegistryPolicy.Benchmarks" or "RegistryPolicy.Fuzz", $"{f} may not see the core's internals"));
    }
}
