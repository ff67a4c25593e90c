using System.Collections;
using System.Collections.Immutable;

namespace RegistryPolicy.Primitives;

/// <summary>
/// An immutable array with value (element-wise) equality, so that records holding lists compare by content (an
/// <see cref="ImmutableArray{T}"/> compares by reference). <c>default</c> is empty. Immutable and thread-safe.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
[System.Runtime.CompilerServices.CollectionBuilder(typeof(ValueArray), nameof(ValueArray.Create))]
public readonly struct ValueArray<T> : IReadOnlyList<T>, IEquatable<ValueArray<T>>
{
    private readonly ImmutableArray<T> _items;

    /// <summary>Wraps the items.</summary>
    /// <param name="items">The items.</param>
    public ValueArray(ImmutableArray<T> items) => _items = items.IsDefault ? [] : items;

    /// <summary>Wraps a copy of the items.</summary>
    /// <param name="items">The items.</param>
    public ValueArray(IEnumerable<T> items) => _items = [.. items];

    /// <summary>The items.</summary>
    public ImmutableArray<T> Items => _items.IsDefault ? [] : _items;

    /// <inheritdoc/>
    public T this[int index] => Items[index];

    /// <inheritdoc/>
    public int Count => Items.Length;

    /// <summary>The number of items (as <see cref="ImmutableArray{T}.Length"/>).</summary>
    public int Length => Items.Length;

    /// <summary>Whether there are no items.</summary>
    public bool IsEmpty => Items.IsEmpty;

    /// <summary>The items as a span, without copying.</summary>
    /// <returns>A read-only span over the items.</returns>
    public ReadOnlySpan<T> AsSpan() => Items.AsSpan();

    /// <summary>An enumerator that allocates nothing (a <c>foreach</c> over a <see cref="ValueArray{T}"/> uses it).</summary>
    /// <returns>The enumerator.</returns>
    public ImmutableArray<T>.Enumerator GetEnumerator() => Items.GetEnumerator();

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable)Items).GetEnumerator();

    /// <inheritdoc/>
    public bool Equals(ValueArray<T> other) => Items.SequenceEqual(other.Items);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ValueArray<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (T item in Items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    /// <summary>Formats as <c>[a, b]</c>.</summary>
    /// <returns>The items as text.</returns>
    public override string ToString() => "[" + string.Join(", ", Items) + "]";

    /// <summary>Compares by content.</summary>
    /// <param name="left">One array.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they hold equal items in the same order.</returns>
    public static bool operator ==(ValueArray<T> left, ValueArray<T> right) => left.Equals(right);

    /// <summary>Compares by content.</summary>
    /// <param name="left">One array.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(ValueArray<T> left, ValueArray<T> right) => !left.Equals(right);

    /// <summary>Wraps an immutable array.</summary>
    /// <param name="items">The items.</param>
    public static implicit operator ValueArray<T>(ImmutableArray<T> items) => new(items);
}

/// <summary>Builds <see cref="ValueArray{T}"/> values (collection expressions use it). Stateless: safe to call from any thread.</summary>
public static class ValueArray
{
    /// <summary>A value array holding a copy of the items.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="items">The items.</param>
    /// <returns>The array.</returns>
    public static ValueArray<T> Create<T>(ReadOnlySpan<T> items) => new(ImmutableArray.Create(items));
}
