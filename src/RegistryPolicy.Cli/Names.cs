namespace RegistryPolicy.Cli;

/// <summary>The API server's rules for the names the command line takes: namespaces (DNS labels) and label keys.</summary>
internal static class Names
{
    private static readonly System.Text.RegularExpressions.Regex Label = new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
    private static readonly System.Text.RegularExpressions.Regex Qualified = new("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
    private static readonly System.Text.RegularExpressions.Regex Subdomain = new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    public static bool IsNamespace(string name) => name.Length <= 63 && Label.IsMatch(name);

    public static bool IsLabelKey(string key)
    {
        int slash = key.IndexOf('/', StringComparison.Ordinal);
        string prefix = slash < 0 ? string.Empty : key[..slash];
        string name = slash < 0 ? key : key[(slash + 1)..];
        return name.Length is > 0 and <= 63 && Qualified.IsMatch(name) && (slash < 0 || (prefix.Length is > 0 and <= 253 && Subdomain.IsMatch(prefix)));
    }

    /// <summary>Adds a parse-time check to a namespace option: a value that is not a namespace name is a usage error (exit 2).</summary>
    public static void RefuseNonNamespaces(System.CommandLine.Option<string[]> option) =>
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (!IsNamespace(token.Value) && !(token.Value.Length > 1 && token.Value[0] == '-'))
                {
                    result.AddError($"'{DisplayName(token.Value)}' is not a namespace name (lower-case letters, digits and '-', at most 63; for example team-a)");
                    return;
                }
            }
        });

    private static string DisplayName(string value)
    {
        var text = new System.Text.StringBuilder();
        foreach (char c in value.Length > 80 ? value[..80] + "..." : value)
        {
            text.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        }

        return text.ToString();
    }
}
