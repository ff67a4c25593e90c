using System.Text.Json.Nodes;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.AspNetCore;

/// <summary>Applies RFC 6902 patches with Debian's python3-jsonpatch, an engine that shares no code with ours.</summary>
internal static class IndependentJsonPatch
{
    private const string Script = """
        import json, sys, jsonpatch
        doc = json.load(open(sys.argv[1]))
        patch = jsonpatch.JsonPatch(json.load(open(sys.argv[2])))
        print(json.dumps(patch.apply(doc)))
        """;

    public static string Python()
    {
        const string python = "/usr/bin/python3";
        RealTools.RequireThat(File.Exists(python), "/usr/bin/python3 is not installed (apt-get install python3-jsonpatch; .ci/run installs it).");
        ProcessResult probe = RealTools.Run(python, ["-c", "import jsonpatch, yaml"], timeout: TimeSpan.FromSeconds(30));
        RealTools.RequireThat(probe.ExitCode == 0, "python3-jsonpatch or python3-yaml is not installed (apt-get install python3-jsonpatch python3-yaml; .ci/run installs them).");
        return python;
    }

    public static JsonNode Apply(JsonNode document, JsonArray patch)
    {
        string python = Python();
        string dir = Directory.CreateTempSubdirectory("rp-jsonpatch-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "doc.json"), document.ToJsonString());
            File.WriteAllText(Path.Combine(dir, "patch.json"), patch.ToJsonString());
            File.WriteAllText(Path.Combine(dir, "apply.py"), Script);
            ProcessResult result = RealTools.Run(python, [Path.Combine(dir, "apply.py"), Path.Combine(dir, "doc.json"), Path.Combine(dir, "patch.json")],
                timeout: TimeSpan.FromSeconds(30));
            Assert.True(result.ExitCode == 0, "python3-jsonpatch refused the patch: " + result.Error);
            return JsonNode.Parse(result.Output)!;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>YAML documents as JSON, read by PyYAML (not by our reader).</summary>
    public static JsonArray YamlToJson(string yaml)
    {
        string python = Python();
        string dir = Directory.CreateTempSubdirectory("rp-yaml-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "in.yaml"), yaml);
            ProcessResult result = RealTools.Run(python, ["-c", "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))", Path.Combine(dir, "in.yaml")],
                timeout: TimeSpan.FromSeconds(30));
            Assert.True(result.ExitCode == 0, "PyYAML refused the YAML: " + result.Error);
            return JsonNode.Parse(result.Output)!.AsArray();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
