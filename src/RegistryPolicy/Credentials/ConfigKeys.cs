namespace RegistryPolicy.Credentials;

/// <summary>Pull-secret config keys as they may be shown: a key can carry URL userinfo (<c>https://bot:PASS@r.io</c>).</summary>
internal static class ConfigKeys
{
    /// <summary>What replaces the userinfo of a key when it is shown.</summary>
    public const string Hidden = "<userinfo hidden>";

    /// <summary>
    /// The key with any userinfo (everything before the last '@' of the authority) replaced, so a password written into a
    /// key is never shown. The kubelet drops userinfo when it indexes the key, so nothing a match depends on is hidden.
    /// </summary>
    public static string Redact(string key)
    {
        int start = key.IndexOf("://", StringComparison.Ordinal);
        start = start >= 0 ? start + 3 : 0;
        int end = key.AsSpan(start).IndexOfAny('/', '?', '#');
        end = end < 0 ? key.Length : start + end;
        int at = key.AsSpan(start, end - start).LastIndexOf('@');
        return at < 0 ? key : string.Concat(key.AsSpan(0, start), Hidden, key.AsSpan(start + at));
    }
}
