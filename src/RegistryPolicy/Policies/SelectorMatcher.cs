using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Policies;

/// <summary>A compiled <see cref="LabelSelector"/>: arrays, no allocation when matching.</summary>
internal sealed class SelectorMatcher
{
    private readonly KeyValuePair<string, string>[] _labels;
    private readonly (string Key, SelectorOperator Op, HashSet<string> Values)[] _expressions;

    private SelectorMatcher(LabelSelector selector)
    {
        _labels = [.. selector.MatchLabels];
        _expressions = [.. selector.MatchExpressions.Select(e => (e.Key, e.Operator, new HashSet<string>(e.Values, StringComparer.Ordinal)))];
        Text = Describe(selector);
    }

    /// <summary>Matches everything (an empty selector, as in Kubernetes).</summary>
    public static SelectorMatcher Everything { get; } = new(new LabelSelector());

    /// <summary>The selector in <c>kubectl -l</c> syntax, for traces.</summary>
    public string Text { get; }

    public bool IsEmpty => _labels.Length == 0 && _expressions.Length == 0;

    public static SelectorMatcher Compile(LabelSelector? selector) => selector is null ? Everything : new SelectorMatcher(selector);

    public bool Matches(StringMap labels)
    {
        foreach (var (key, value) in _labels)
        {
            if (!labels.TryGetValue(key, out string? actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        foreach (var (key, op, values) in _expressions)
        {
            bool present = labels.TryGetValue(key, out string? actual);
            bool ok = op switch
            {
                SelectorOperator.In => present && values.Contains(actual!),
                SelectorOperator.NotIn => !present || !values.Contains(actual!),
                SelectorOperator.Exists => present,
                _ => !present,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Formats a selector as <c>kubectl -l</c> does: <c>a=b,c in (x,y),!d</c>.</summary>
    public static string Describe(LabelSelector selector)
    {
        var parts = new List<string>();
        parts.AddRange(selector.MatchLabels.Select(p => $"{p.Key}={p.Value}"));
        foreach (LabelSelectorRequirement e in selector.MatchExpressions)
        {
            parts.Add(e.Operator switch
            {
                SelectorOperator.In => $"{e.Key} in ({string.Join(',', e.Values)})",
                SelectorOperator.NotIn => $"{e.Key} notin ({string.Join(',', e.Values)})",
                SelectorOperator.Exists => e.Key,
                _ => "!" + e.Key,
            });
        }

        return parts.Count == 0 ? "(everything)" : string.Join(',', parts);
    }

    /// <summary>Why no label set can satisfy the selector, or null when some can.</summary>
    public static string? WhyNeverMatches(LabelSelector selector)
    {
        var keys = selector.MatchLabels.Keys.Concat(selector.MatchExpressions.Select(e => e.Key)).Distinct(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            HashSet<string>? allowed = null;
            var forbidden = new HashSet<string>(StringComparer.Ordinal);
            bool mustExist = false, mustNotExist = false;
            if (selector.MatchLabels.TryGetValue(key, out string? exact))
            {
                allowed = [exact];
                mustExist = true;
            }

            foreach (LabelSelectorRequirement e in selector.MatchExpressions.Where(e => e.Key == key))
            {
                switch (e.Operator)
                {
                    case SelectorOperator.In:
                        mustExist = true;
                        allowed = allowed is null ? new HashSet<string>(e.Values, StringComparer.Ordinal) : [.. allowed.Intersect(e.Values, StringComparer.Ordinal)];
                        break;
                    case SelectorOperator.NotIn:
                        forbidden.UnionWith(e.Values);
                        break;
                    case SelectorOperator.Exists:
                        mustExist = true;
                        break;
                    case SelectorOperator.DoesNotExist:
                        mustNotExist = true;
                        break;
                }
            }

            if (mustExist && mustNotExist)
            {
                return $"the label '{key}' is required to be both present and absent";
            }

            if (allowed is not null && allowed.All(forbidden.Contains))
            {
                return $"no value of the label '{key}' satisfies every requirement on it";
            }
        }

        return null;
    }
}
