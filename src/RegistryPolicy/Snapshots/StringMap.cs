using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace RegistryPolicy.Snapshots;

/// <summary>
/// An immutable map of strings (labels, annotations, ConfigMap data), sorted by key in ordinal order, with value equality.
/// Immutable and thread-safe.
/// </summary>
[SuppressMessage("Naming", "CA1710", Justification = "A map of labels or annotations; 'StringMap' reads better than 'StringMapDictionary'.")]
public sealed class StringMap : IReadOnlyDictionary<string, string>, IEquatable<StringMap>
{
    private readonly KeyValuePair<string, string>[] _entries;

    private StringMap(KeyValuePair<string, string>[] sorted) => _entries = sorted;

    /// <summary>The entries in key order, without an enumerator (for readers' checks on every object).</summary>
    internal ReadOnlySpan<KeyValuePair<string, string>> Entries => _entries;

    /// <summary>The empty map.</summary>
    public static StringMap Empty { get; } = new([]);

    /// <summary>Creates a map; a later duplicate key replaces an earlier one.</summary>
    /// <param name="entries">The entries, in any order.</param>
    /// <returns>The map.</returns>
    public static StringMap Create(IEnumerable<KeyValuePair<string, string>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var dictionary = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
        {
            dictionary[key] = value;
        }

        return FromDictionary(dictionary);
    }

    /// <summary>Creates a map from <c>key=value</c> pairs, for tests and examples.</summary>
    /// <param name="pairs">Alternating keys and values.</param>
    /// <returns>The map.</returns>
    public static StringMap Of(params string[] pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Length % 2 != 0)
        {
            throw new ArgumentException("Give keys and values in pairs.", nameof(pairs));
        }

        var list = new List<KeyValuePair<string, string>>(pairs.Length / 2);
        for (int i = 0; i < pairs.Length; i += 2)
        {
            list.Add(new(pairs[i], pairs[i + 1]));
        }

        return Create(list);
    }

    /// <summary>From pairs whose keys are known to be distinct (they are sorted here).</summary>
    internal static StringMap FromSortedUnique(List<(string Key, string Value)> pairs)
    {
        if (pairs.Count == 0)
        {
            return Empty;
        }

        var array = new KeyValuePair<string, string>[pairs.Count];
        for (int i = 0; i < array.Length; i++)
        {
            array[i] = new(pairs[i].Key, pairs[i].Value);
        }

        Array.Sort(array, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new StringMap(array);
    }

    internal static StringMap FromDictionary(Dictionary<string, string> dictionary)
    {
        if (dictionary.Count == 0)
        {
            return Empty;
        }

        var array = dictionary.ToArray();
        Array.Sort(array, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new StringMap(array);
    }

    /// <summary>Returns a copy with <paramref name="key"/> set to <paramref name="value"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>The new map.</returns>
    public StringMap With(string key, string value)
    {
        var dictionary = ToDictionary();
        dictionary[key] = value;
        return FromDictionary(dictionary);
    }

    /// <summary>Returns a copy without <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The new map (this one when the key is absent).</returns>
    public StringMap Without(string key)
    {
        if (!ContainsKey(key))
        {
            return this;
        }

        var dictionary = ToDictionary();
        dictionary.Remove(key);
        return FromDictionary(dictionary);
    }

    private Dictionary<string, string> ToDictionary()
    {
        var dictionary = new Dictionary<string, string>(_entries.Length + 1, StringComparer.Ordinal);
        foreach (var (k, v) in _entries)
        {
            dictionary[k] = v;
        }

        return dictionary;
    }

    /// <inheritdoc/>
    public string this[string key] => TryGetValue(key, out string? value) ? value : throw new KeyNotFoundException(key);

    /// <inheritdoc/>
    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    /// <inheritdoc/>
    public IEnumerable<string> Values => _entries.Select(e => e.Value);

    /// <inheritdoc/>
    public int Count => _entries.Length;

    /// <inheritdoc/>
    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    /// <inheritdoc/>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        int index = IndexOf(key);
        value = index >= 0 ? _entries[index].Value : null;
        return index >= 0;
    }

    /// <summary>The value for <paramref name="key"/>, or <see langword="null"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value, or null.</returns>
    public string? GetValueOrDefault(string key) => TryGetValue(key, out string? value) ? value : null;

    private int IndexOf(string key)
    {
        int lo = 0, hi = _entries.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = string.CompareOrdinal(_entries[mid].Key, key);
            if (c == 0)
            {
                return mid;
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return -1;
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, string>>)_entries).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(StringMap? other)
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
                !string.Equals(_entries[i].Value, other._entries[i].Value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as StringMap);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var (k, v) in _entries)
        {
            hash.Add(k, StringComparer.Ordinal);
            hash.Add(v, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    /// <summary>Formats as <c>{key=value, ...}</c>.</summary>
    /// <returns>The map as text.</returns>
    public override string ToString() => "{" + string.Join(", ", _entries.Select(e => $"{e.Key}={e.Value}")) + "}";
}
