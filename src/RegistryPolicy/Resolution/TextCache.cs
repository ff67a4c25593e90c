using System.Collections.Immutable;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Resolution;

/// <summary>Decodes short Secret values once per distinct value per evaluation (copies of one Secret share every address).</summary>
internal sealed class TextCache
{
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public TextCache() => _bySpan = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public string? Get(SecretData data, string key)
    {
        if (!data.TryGetBytes(key, out ReadOnlyMemory<byte> bytes))
        {
            return null;
        }

        ReadOnlySpan<byte> raw = bytes.Span;
        if (raw.Length > 256 || !System.Text.Ascii.IsValid(raw))
        {
            return System.Text.Encoding.UTF8.GetString(raw);
        }

        Span<char> chars = stackalloc char[raw.Length];
        System.Text.Ascii.ToUtf16(raw, chars, out _);
        if (_bySpan.TryGetValue(chars, out string? known))
        {
            return known;
        }

        string value = new(chars);
        if (_strings.Count < 65_536)
        {
            _strings[value] = value;
        }

        return value;
    }
}
