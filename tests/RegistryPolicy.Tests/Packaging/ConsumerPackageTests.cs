using System.Text;
using System.Text.RegularExpressions;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Packaging;

/// <summary>
/// The packages as a consumer meets them, not the projects: every packable project (everything under <c>src/</c>) is
/// packed into a local source with a version of its own, a fresh console project outside the solution restores our
/// packages from that source only, compiles the README's C# snippets and runs them against <c>samples/</c>; the tool is
/// installed from the same source and answers the README's main command exactly as <c>dotnet run</c> does; and a
/// NativeAOT publish of the consumer shows no trim or AOT warning from our packages.
/// </summary>
[Trait("Category", "Packaging")]
public sealed class ConsumerPackageTests : IClassFixture<ConsumerPackageTests.Feed>
{
    private static readonly string Root = Policies.PolicySchemaTests.RepositoryRoot();
    private readonly Feed _feed;

    public ConsumerPackageTests(Feed feed) => _feed = feed;

    /// <summary>Packs once for all tests of the class.</summary>
    public sealed class Feed
    {
        public Feed()
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("rp-feed-").FullName;
            // A version no earlier run used, so the global package cache cannot serve a stale copy.
            Version = $"0.1.0-consumer.{DateTime.UtcNow:yyyyMMddHHmmss}";
            ProcessResult pack = Dotnet(Root, "pack", "RegistryPolicy.sln", "-c", "Release", "-o", Path.Combine(Directory, "source"), $"-p:Version={Version}", "-nologo");
            PackOutput = pack.Output + pack.Error;
            Assert.True(pack.ExitCode == 0, PackOutput);
        }

        public string Directory { get; }

        public string Version { get; }

        public string PackOutput { get; }

        public string Source => Path.Combine(Directory, "source");
    }

    internal static ProcessResult Dotnet(string workingDirectory, params string[] args) =>
        RealTools.Run("dotnet", args, workingDirectory: workingDirectory, timeout: TimeSpan.FromMinutes(10),
            environment: new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1", ["MSBUILDDISABLENODEREUSE"] = "1" });

    /// <summary>Every project under src/: each must be a package (a new one is covered without editing this test).</summary>
    private static string[] PackableProjects() =>
        [.. Directory.EnumerateFiles(Path.Combine(Root, "src"), "*.csproj", SearchOption.AllDirectories).Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!];

    private static string PackageId(string project) =>
        Regex.Match(File.ReadAllText(Directory.EnumerateFiles(Path.Combine(Root, "src"), project + ".csproj", SearchOption.AllDirectories).Single()), "<PackageId>([^<]+)</PackageId>").Groups[1].Value is { Length: > 0 } id ? id : project;

    [Fact]
    public void Every_project_under_src_is_packed_with_xml_docs_readme_icon_and_symbols()
    {
        foreach (string project in PackableProjects())
        {
            string id = PackageId(project);
            string nupkg = Path.Combine(_feed.Source, $"{id}.{_feed.Version}.nupkg");
            Assert.True(File.Exists(nupkg), $"{project} was not packed as {id}");
            Assert.True(File.Exists(Path.ChangeExtension(nupkg, ".snupkg")), $"{id} has no symbol package");
            using var zip = System.IO.Compression.ZipFile.OpenRead(nupkg);
            string[] entries = [.. zip.Entries.Select(e => e.FullName)];
            Assert.Contains("README.md", entries);
            Assert.Contains("icon.png", entries);
            Assert.Contains(entries, e => e.EndsWith(".dll", StringComparison.Ordinal));
            Assert.Contains(entries, e => e.EndsWith(".xml", StringComparison.Ordinal) && !e.StartsWith('['));
            string nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open()).ReadToEnd();
            Assert.DoesNotContain("github.com/registrypolicy", nuspec, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void A_fresh_console_project_restores_the_packages_and_runs_the_readme_snippets()
    {
        string consumer = Consumer("readme-snippets");
        ProcessResult run = Dotnet(consumer, "run", "-c", "Release", "--", Root);

        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        Assert.Contains("team-b: ", run.Output, StringComparison.Ordinal);          // the library in one minute
        Assert.Contains("docker.io\nlibrary/nginx\ndocker.io/library/nginx:1.25\nnginx:1.25\n", run.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Matches(@"\d+ namespaces, \d+ Secrets drawn", run.Output);          // the Testing package
        Assert.Contains("Patched (200): 3 image(s) rewritten", run.Output, StringComparison.Ordinal); // the AspNetCore package
        // Restored from the local source, not from a project reference or another feed.
        string assets = File.ReadAllText(Path.Combine(consumer, "obj", "project.assets.json"));
        Assert.Contains($"RegistryPolicy/{_feed.Version}", assets, StringComparison.Ordinal);
        Assert.DoesNotContain("\"type\": \"project\"", assets, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void The_installed_tool_answers_the_readme_command_as_dotnet_run_does()
    {
        string tools = Path.Combine(_feed.Directory, "tools");
        ProcessResult install = Dotnet(_feed.Directory, "tool", "install", "--tool-path", tools, "--add-source", _feed.Source, "RegistryPolicy.Cli", "--version", _feed.Version);
        Assert.True(install.ExitCode == 0, install.Output + install.Error);

        ProcessResult installed = RealTools.Run(Path.Combine(tools, "registry-policy"), ["resolve", "-f", "samples/kyma-cluster.yaml"], workingDirectory: Root);
        ProcessResult dotnetRun = Dotnet(Root, "run", "--project", "src/RegistryPolicy.Cli", "-c", "Release", "--no-build", "--", "resolve", "-f", "samples/kyma-cluster.yaml");

        Assert.Equal(0, installed.ExitCode);
        Assert.Equal(dotnetRun.Output, installed.Output);
        Assert.Contains("team-a", installed.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void The_readme_install_command_puts_a_tool_that_runs_the_preset_suites_on_the_path()
    {
        string tools = Path.Combine(_feed.Directory, "installed-by-script");
        ProcessResult install = RealTools.Run("/bin/bash", ["build/install-tool.sh", "--tool-path", tools], workingDirectory: Root, timeout: TimeSpan.FromMinutes(5));
        Assert.True(install.ExitCode == 0, install.Output + install.Error);
        ProcessResult again = RealTools.Run("/bin/bash", ["build/install-tool.sh", "--tool-path", tools], workingDirectory: Root, timeout: TimeSpan.FromMinutes(5));
        Assert.True(again.ExitCode == 0, "a second install updates: " + again.Output + again.Error);

        ProcessResult suites = RealTools.Run(Path.Combine(tools, "registry-policy"), ["test", "--preset", "all"], workingDirectory: Root);

        Assert.Equal(0, suites.ExitCode);
        Assert.Contains("in 4 suite(s)", suites.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_nativeaot_publish_of_the_consumer_has_no_trim_or_aot_warning_from_our_packages()
    {
        RealTools.Require("clang", "Debian package clang (NativeAOT links with it)");
        string consumer = Consumer("aot");
        ProcessResult publish = Dotnet(consumer, "publish", "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", Path.Combine(consumer, "native"));

        Assert.True(publish.ExitCode == 0, publish.Output + publish.Error);
        string[] ours = [.. (publish.Output + publish.Error).Split('\n')
            .Where(l => Regex.IsMatch(l, @"warning (IL\d+|AOT)") && l.Contains("RegistryPolicy", StringComparison.Ordinal))];
        Assert.True(ours.Length == 0, string.Join("\n", ours));
        ProcessResult native = RealTools.Run(Path.Combine(consumer, "native", "consumer"), [Root], workingDirectory: Root);
        Assert.True(native.ExitCode == 0, native.Error);
        Assert.Contains("team-b: ", native.Output, StringComparison.Ordinal);
        Assert.Contains("Patched (200): 3 image(s) rewritten", native.Output, StringComparison.Ordinal);
    }

    /// <summary>A console project outside the solution whose Program.cs is the README's C# snippets, each in its own scope.</summary>
    private string Consumer(string name)
    {
        string dir = Path.Combine(_feed.Directory, name);
        System.IO.Directory.CreateDirectory(dir);
        string source = _feed.Source;
        File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{source}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local"><package pattern="RegistryPolicy" /><package pattern="RegistryPolicy.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        // Keep the repository's Directory.Build.props and central versions away from the consumer.
        File.WriteAllText(Path.Combine(dir, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(dir, "Directory.Packages.props"), "<Project><PropertyGroup><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup></Project>");
        string packages = string.Concat(PackableProjects().Select(PackageId).Where(id => id != "RegistryPolicy.Cli")
            .Select(id => $"    <PackageReference Include=\"{id}\" Version=\"{_feed.Version}\" />\n"));
        File.WriteAllText(Path.Combine(dir, "consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <AssemblyName>consumer</AssemblyName>
                <InvariantGlobalization>true</InvariantGlobalization>
              </PropertyGroup>
              <ItemGroup>
            {packages}  </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), ProgramFromReadme());
        return dir;
    }

    /// <summary>The README's C# blocks: their using directives at the top, each body in a block of its own, run from the repository root.</summary>
    internal static string ProgramFromReadme()
    {
        string readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        MatchCollection blocks = Regex.Matches(readme, "```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.True(blocks.Count >= 3, "the README lost its C# snippets");
        var usings = new SortedSet<string>(StringComparer.Ordinal);
        var body = new StringBuilder("Directory.SetCurrentDirectory(args[0]);\n");
        foreach (Match block in blocks)
        {
            body.Append("{\n");
            foreach (string line in block.Groups[1].Value.Split('\n'))
            {
                if (line.StartsWith("using ", StringComparison.Ordinal) && line.TrimEnd().EndsWith(';') && !line.Contains('=', StringComparison.Ordinal) && !line.StartsWith("using var", StringComparison.Ordinal))
                {
                    usings.Add(line.Trim());
                }
                else
                {
                    body.Append(line).Append('\n');
                }
            }

            body.Append("}\n");
        }

        return string.Join("\n", usings) + "\n\n" + body;
    }
}
