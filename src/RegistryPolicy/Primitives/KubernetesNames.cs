namespace RegistryPolicy.Primitives;

/// <summary>
/// The name rules the API server enforces (<c>k8s.io/apimachinery/pkg/util/validation</c>), so that an object it would refuse
/// is never treated as stored, and no name that reaches our output can carry a line break, a quote or a shell word.
/// Span-based; nothing allocates.
/// </summary>
internal static class KubernetesNames
{
    /// <summary>The longest DNS-1123 label (namespaces; label names).</summary>
    public const int MaxLabelLength = 63;

    /// <summary>The longest DNS-1123 subdomain (most object names).</summary>
    public const int MaxSubdomainLength = 253;

    /// <summary>A DNS-1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric, at most 63 characters. Namespaces.</summary>
    public static bool IsDns1123Label(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxLabelLength || !IsLowerAlnum(value[0]) || !IsLowerAlnum(value[^1]))
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!IsLowerAlnum(c) && c != '-')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A DNS-1123 subdomain: dot-separated DNS-1123 labels, at most 253 characters. Secrets, ConfigMaps, ServiceAccounts, Pods, workloads.</summary>
    public static bool IsDns1123Subdomain(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxSubdomainLength)
        {
            return false;
        }

        foreach (Range part in value.Split('.'))
        {
            ReadOnlySpan<char> label = value[part];
            if (label.IsEmpty || !IsLowerAlnum(label[0]) || !IsLowerAlnum(label[^1]))
            {
                return false;
            }

            foreach (char c in label)
            {
                if (!IsLowerAlnum(c) && c != '-')
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// A qualified name (label and annotation keys, finalizers): an optional DNS-1123 subdomain prefix and '/', then a name
    /// of at most 63 alphanumerics, '-', '_' and '.', starting and ending alphanumeric.
    /// </summary>
    public static bool IsQualifiedName(ReadOnlySpan<char> value)
    {
        int slash = value.IndexOf('/');
        ReadOnlySpan<char> name = value;
        if (slash >= 0)
        {
            if (!IsDns1123Subdomain(value[..slash]))
            {
                return false;
            }

            name = value[(slash + 1)..];
        }

        return !name.IsEmpty && name.Length <= MaxLabelLength && IsNamePart(name);
    }

    /// <summary>A label value: empty, or at most 63 alphanumerics, '-', '_' and '.', starting and ending alphanumeric.</summary>
    public static bool IsLabelValue(ReadOnlySpan<char> value) => value.IsEmpty || (value.Length <= MaxLabelLength && IsNamePart(value));

    /// <summary>A Secret or ConfigMap data key: at most 253 alphanumerics, '-', '_' and '.', and not '.', '..' or starting with '..'.</summary>
    public static bool IsDataKey(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxSubdomainLength || value.StartsWith(".."))
        {
            return false;
        }

        if (value is ".")
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An annotation key: a qualified name once ASCII letters are lower-cased (as the API server checks it).</summary>
    public static bool IsAnnotationKey(ReadOnlySpan<char> value)
    {
        if (value.Length > MaxSubdomainLength + 1 + MaxLabelLength)
        {
            return false;
        }

        Span<char> lower = stackalloc char[value.Length];
        for (int i = 0; i < value.Length; i++)
        {
            lower[i] = char.IsAsciiLetterUpper(value[i]) ? (char)(value[i] | 0x20) : value[i];
        }

        return IsQualifiedName(lower);
    }

    private static bool IsNamePart(ReadOnlySpan<char> value)
    {
        if (!char.IsAsciiLetterOrDigit(value[0]) || !char.IsAsciiLetterOrDigit(value[^1]))
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsLowerAlnum(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
}
