using System.Text;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RegistryPolicy.Cli;

/// <summary>
/// Reads Secrets from a manifest file as <c>kubectl get -o yaml|json</c> prints them: one object, a <c>v1 List</c>, or several
/// YAML documents. Problems become diagnostics with the file, line and column; the rest is read.
/// </summary>
internal static class SecretFiles
{
    public static (List<PullSecret> Secrets, List<Diagnostic> Diagnostics) Read(string path)
    {
        var secrets = new List<PullSecret>();
        var diagnostics = new List<Diagnostic>();
        string text;
        try
        {
            text = File.ReadAllText(path, new UTF8Encoding(false, true));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new InputException($"{path}: cannot read the file: {e.Message}");
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            diagnostics.Add(new Diagnostic("yaml-malformed", DiagnosticSeverity.Error, $"not valid YAML or JSON: {e.Message}")
            {
                Location = new SourceLocation(path, (int)e.Start.Line, (int)e.Start.Column),
            });
            return (secrets, diagnostics);
        }

        foreach (YamlDocument document in stream.Documents)
        {
            if (document.RootNode is YamlMappingNode root)
            {
                ReadObject(root, path, secrets, diagnostics);
            }
        }

        return (secrets, diagnostics);
    }

    private static void ReadObject(YamlMappingNode node, string path, List<PullSecret> secrets, List<Diagnostic> diagnostics)
    {
        string? kind = Scalar(node, "kind");
        if (kind == "List" || kind?.EndsWith("List", StringComparison.Ordinal) == true)
        {
            if (Child(node, "items") is YamlSequenceNode items)
            {
                foreach (YamlNode item in items)
                {
                    if (item is YamlMappingNode mapping)
                    {
                        ReadObject(mapping, path, secrets, diagnostics);
                    }
                }
            }

            return;
        }

        if (kind != "Secret")
        {
            return;
        }

        SourceLocation Where(YamlNode n) => new(path, (int)n.Start.Line, (int)n.Start.Column);
        var metadata = Child(node, "metadata") as YamlMappingNode;
        string? name = metadata is null ? null : Scalar(metadata, "name");
        string? ns = metadata is null ? null : Scalar(metadata, "namespace");
        if (string.IsNullOrEmpty(name))
        {
            diagnostics.Add(new Diagnostic("missing-name", DiagnosticSeverity.Error, "the Secret has no metadata.name; it is skipped. Add metadata.name.")
            {
                Field = "metadata.name",
                Location = Where(metadata ?? (YamlNode)node),
            });
            return;
        }

        var reference = new ObjectReference("Secret", ns, name);
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        bool ok = true;
        if (Child(node, "data") is YamlMappingNode dataNode)
        {
            foreach ((YamlNode key, YamlNode value) in dataNode.Children)
            {
                string dataKey = (key as YamlScalarNode)?.Value ?? "";
                string encoded = (value as YamlScalarNode)?.Value ?? "";
                try
                {
                    data[dataKey] = Convert.FromBase64String(encoded);
                }
                catch (FormatException)
                {
                    diagnostics.Add(new Diagnostic("data-not-base64", DiagnosticSeverity.Error,
                        "the value is not valid base64, so the API server would refuse this Secret. Encode it with 'base64 -w0', or move it to stringData.")
                    {
                        Subject = reference,
                        Field = $"data[{dataKey}]",
                        Location = Where(value),
                    });
                    ok = false;
                }
            }
        }

        if (Child(node, "stringData") is YamlMappingNode stringData)
        {
            foreach ((YamlNode key, YamlNode value) in stringData.Children)
            {
                data[(key as YamlScalarNode)?.Value ?? ""] = Encoding.UTF8.GetBytes((value as YamlScalarNode)?.Value ?? "");
            }
        }

        if (ok)
        {
            secrets.Add(new PullSecret(ns, name, Scalar(node, "type") ?? "Opaque", data));
        }
    }

    private static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? child) ? child : null;

    private static string? Scalar(YamlMappingNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;

    /// <summary>Reads a <c>.dockerconfigjson</c> file (its content, not a Secret).</summary>
    public static byte[] ReadDockerConfig(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot read the file: {e.Message}");
        }
    }
}
