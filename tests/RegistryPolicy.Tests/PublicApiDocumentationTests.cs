using System.Reflection;
using System.Xml.Linq;

namespace RegistryPolicy.Tests;

/// <summary>
/// Every public type of the packages says in its XML summary whether it may be shared across threads: the webhook and the
/// controller share results across requests, so the answer must be written down, not guessed.
/// </summary>
public sealed class PublicApiDocumentationTests
{
    public static TheoryData<string> Packages => ["RegistryPolicy", "RegistryPolicy.Kubernetes", "RegistryPolicy.Testing", "RegistryPolicy.AspNetCore"];

    [Theory]
    [MemberData(nameof(Packages))]
    public void Every_public_type_documents_its_thread_safety(string package)
    {
        Assembly assembly = Assembly.Load(package);
        Dictionary<string, string> summaries = Summaries(package);

        string[] undocumented = [.. assembly.GetExportedTypes()
            .Where(t => !t.IsEnum && !typeof(Delegate).IsAssignableFrom(t))
            .Select(t => t.FullName!.Replace('+', '.'))
            .Where(name => !summaries.TryGetValue("T:" + name, out string? summary) || !summary.Contains("thread", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)];

        Assert.True(undocumented.Length == 0, $"public types of {package} whose summary does not say whether they are thread-safe:\n  " + string.Join("\n  ", undocumented));
    }

    [Fact]
    public void The_check_reads_real_summaries_so_it_can_fail()
    {
        Dictionary<string, string> summaries = Summaries("RegistryPolicy");

        Assert.Contains("thread", summaries["T:RegistryPolicy.Resolution.Evaluation"], StringComparison.OrdinalIgnoreCase);
        Assert.True(summaries.Count > 100);
    }

    private static Dictionary<string, string> Summaries(string package)
    {
        string path = Path.Combine(AppContext.BaseDirectory, package + ".xml");
        return XDocument.Load(path).Descendants("member")
            .Where(m => m.Attribute("name")?.Value.StartsWith("T:", StringComparison.Ordinal) == true)
            .ToDictionary(m => m.Attribute("name")!.Value, m => m.Element("summary")?.Value ?? string.Empty, StringComparer.Ordinal);
    }
}
