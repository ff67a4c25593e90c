using System.Collections.Immutable;
using System.Text;

namespace RegistryPolicy.Snapshots;

/// <summary>
/// The decoded <c>data</c> of a Secret: keys in ordinal order, each with its bytes. Immutable, with value equality. Its
/// <see cref="ToString"/> shows only the keys: values are credentials.
/// Immutable and thread-safe.
/// </summary>
public sealed class SecretData : IEquatable<SecretData>
{
    // One buffer for all values: three objects per Secret however many keys it has (large snapshots hold 100,000s).
    private readonly (string Key, int Start, int Length)[] _entries;
    private readonly byte[] _buffer;
    private FingerprintMemo? _fingerprint; // the last fingerprint asked for: immutable content, so a race only computes it twice
    private int _hash; // 0: not computed yet (a computed 0 is stored as 1); immutable content, so a race only computes it twice

    private SecretData((string Key, int Start, int Length)[] sortedEntries, byte[] buffer)
    {
        _entries = sortedEntries;
        _buffer = buffer;
    }

    /// <summary>No data.</summary>
    public static SecretData Empty { get; } = new([], []);

    /// <summary>Creates data from decoded values (the bytes are copied); a later duplicate key replaces an earlier one.</summary>
    /// <param name="entries">Keys and decoded values.</param>
    /// <returns>The data.</returns>
    public static SecretData Create(IEnumerable<KeyValuePair<string, byte[]>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var dictionary = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
        {
            dictionary[key] = value;
        }

        return Owning(dictionary);
    }

    /// <summary>Creates data from text values (encoded as UTF-8), as <c>stringData</c> gives them.</summary>
    /// <param name="pairs">Alternating keys and values.</param>
    /// <returns>The data.</returns>
    public static SecretData FromStrings(params string[] pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var dictionary = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < pairs.Length; i += 2)
        {
            dictionary[pairs[i]] = Encoding.UTF8.GetBytes(pairs[i + 1]);
        }

        return Owning(dictionary);
    }

    /// <summary>Builds from distinct keys (copies the values into one buffer).</summary>
    internal static SecretData Owning(Dictionary<string, byte[]> dictionary)
    {
        if (dictionary.Count == 0)
        {
            return Empty;
        }

        var keys = new string[dictionary.Count];
        dictionary.Keys.CopyTo(keys, 0);
        Array.Sort(keys, StringComparer.Ordinal);
        int total = 0;
        foreach (byte[] value in dictionary.Values)
        {
            total += value.Length;
        }

        var buffer = new byte[total];
        var entries = new (string, int, int)[keys.Length];
        int at = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            byte[] value = dictionary[keys[i]];
            value.CopyTo(buffer, at);
            entries[i] = (keys[i], at, value.Length);
            at += value.Length;
        }

        return new SecretData(entries, buffer);
    }

    /// <summary>Builds from distinct keys whose values are ranges of <paramref name="buffer"/> (taken, not copied).</summary>
    internal static SecretData FromBuffer((string Key, int Start, int Length)[] entries, byte[] buffer)
    {
        if (entries.Length == 0)
        {
            return Empty;
        }

        Array.Sort(entries, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new SecretData(entries, buffer);
    }

    /// <summary>The number of keys.</summary>
    public int Count => _entries.Length;

    /// <summary>
    /// The fingerprint (<see cref="Credentials.RegistryCredential.FingerprintOf"/>) of the value of <paramref name="key"/>
    /// read as UTF-8 text, or null when the key is absent. Remembered with the content, so evaluating the same snapshot again
    /// (a webhook or a controller does, per request or event) does not hash again.
    /// </summary>
    internal string? FingerprintOf(string key)
    {
        FingerprintMemo? memo = Volatile.Read(ref _fingerprint);
        if (memo is not null && memo.Key == key)
        {
            return memo.Fingerprint;
        }

        string? fingerprint = TryGetBytes(key, out ReadOnlyMemory<byte> value)
            ? Credentials.RegistryCredential.FingerprintOf(System.Text.Encoding.UTF8.GetString(value.Span))
            : null;
        Volatile.Write(ref _fingerprint, new FingerprintMemo(key, fingerprint));
        return fingerprint;
    }

    private sealed record FingerprintMemo(string Key, string? Fingerprint);

    /// <summary>The key at <paramref name="index"/> in ordinal order (no allocation, for readers' checks).</summary>
    internal string KeyAt(int index) => _entries[index].Key;

    /// <summary>The bytes held by all values together.</summary>
    internal long TotalLength
    {
        get
        {
            long total = 0;
            foreach (var (_, _, length) in _entries)
            {
                total += length;
            }

            return total;
        }
    }

    /// <summary>The keys, in ordinal order.</summary>
    public ImmutableArray<string> Keys => [.. _entries.Select(e => e.Key)];

    /// <summary>Whether <paramref name="key"/> is present (its value may be empty).</summary>
    /// <param name="key">The data key.</param>
    /// <returns>Whether it is present.</returns>
    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    /// <summary>Gets the bytes of <paramref name="key"/>.</summary>
    /// <param name="key">The data key.</param>
    /// <param name="value">The bytes (read-only).</param>
    /// <returns>Whether the key is present.</returns>
    public bool TryGetBytes(string key, out ReadOnlyMemory<byte> value)
    {
        int index = IndexOf(key);
        value = index >= 0 ? Value(index) : default;
        return index >= 0;
    }

    /// <summary>Gets the value of <paramref name="key"/> as text (UTF-8; invalid bytes become U+FFFD, as in Go).</summary>
    /// <param name="key">The data key.</param>
    /// <param name="value">The text.</param>
    /// <returns>Whether the key is present.</returns>
    public bool TryGetString(string key, out string value)
    {
        int index = IndexOf(key);
        value = index >= 0 ? Encoding.UTF8.GetString(Value(index).Span) : string.Empty;
        return index >= 0;
    }

    /// <summary>Returns a copy with <paramref name="key"/> set.</summary>
    /// <param name="key">The data key.</param>
    /// <param name="value">The bytes (copied).</param>
    /// <returns>The new data.</returns>
    public SecretData With(string key, ReadOnlySpan<byte> value)
    {
        Dictionary<string, byte[]> dictionary = ToDictionary();
        dictionary[key] = value.ToArray();
        return Owning(dictionary);
    }

    /// <summary>Returns a copy without <paramref name="key"/>.</summary>
    /// <param name="key">The data key.</param>
    /// <returns>The new data.</returns>
    public SecretData Without(string key)
    {
        if (!ContainsKey(key))
        {
            return this;
        }

        Dictionary<string, byte[]> dictionary = ToDictionary();
        dictionary.Remove(key);
        return Owning(dictionary);
    }

    /// <summary>Every key with its bytes, in key order. The caller must not print the values.</summary>
    /// <returns>The entries.</returns>
    public IEnumerable<KeyValuePair<string, ReadOnlyMemory<byte>>> RevealEntries()
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            yield return new KeyValuePair<string, ReadOnlyMemory<byte>>(_entries[i].Key, Value(i));
        }
    }

    private ReadOnlyMemory<byte> Value(int index) => new(_buffer, _entries[index].Start, _entries[index].Length);

    private Dictionary<string, byte[]> ToDictionary()
    {
        var dictionary = new Dictionary<string, byte[]>(_entries.Length + 1, StringComparer.Ordinal);
        for (int i = 0; i < _entries.Length; i++)
        {
            dictionary[_entries[i].Key] = Value(i).ToArray();
        }

        return dictionary;
    }

    private int IndexOf(string key)
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <inheritdoc/>
    public bool Equals(SecretData? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || other._entries.Length != _entries.Length)
        {
            return false;
        }

        for (int i = 0; i < _entries.Length; i++)
        {
            if (!string.Equals(_entries[i].Key, other._entries[i].Key, StringComparison.Ordinal) ||
                !Value(i).Span.SequenceEqual(other.Value(i).Span))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SecretData);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        if (_hash != 0)
        {
            return _hash;
        }

        var hash = new HashCode();
        for (int i = 0; i < _entries.Length; i++)
        {
            hash.Add(_entries[i].Key, StringComparer.Ordinal);
            hash.AddBytes(Value(i).Span);
        }

        int value = hash.ToHashCode();
        _hash = value == 0 ? 1 : value;
        return _hash;
    }

    /// <summary>Shows the keys only, never the values.</summary>
    /// <returns>For example <c>SecretData { keys: password, username }</c>.</returns>
    public override string ToString() => $"SecretData {{ keys: {string.Join(", ", _entries.Select(e => e.Key))} }}";
}
