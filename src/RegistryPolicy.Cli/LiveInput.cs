using System.CommandLine;
using RegistryPolicy.Kubernetes.Controller;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Cli;

/// <summary>
/// <c>--kubeconfig FILE [--context NAME] [-A]</c>: read the cluster live instead of <c>-f</c>, read-only and paged, into
/// the same snapshot a <c>kubectl get ... -o json</c> dump gives. With a command's <c>-n</c>, only those namespaces and the
/// policy's base namespaces are read.
/// </summary>
internal sealed class LiveInput(string replaces = "-f", bool namespaces = false)
{
    public Option<string?> Kubeconfig { get; } = new("--kubeconfig")
    {
        Description = $"Read the cluster live instead of {replaces} (read-only; lists in pages of 500; at most 5 minutes in all): a kubeconfig file.",
        HelpName = "file",
    };

    public Option<string> RequestTimeout { get; } = new("--request-timeout")
    {
        Description = "With --kubeconfig: the longest one request (one page) may take before the read fails (as kubectl's).",
        DefaultValueFactory = _ => "30s",
        HelpName = "duration",
    };

    public Option<string?> Context { get; } = new("--context") { Description = "With --kubeconfig: the context (default: its current-context).", HelpName = "name" };

    public Option<bool> AllNamespaces { get; } = new("--all-namespaces", "-A")
    {
        Description = namespaces ? "With --kubeconfig: read every namespace (the default unless -n narrows it)." : "With --kubeconfig: read every namespace (the default).",
    };

    public void AddTo(Command command)
    {
        command.Add(Kubeconfig);
        command.Add(Context);
        command.Add(AllNamespaces);
        command.Add(RequestTimeout);
    }

    /// <summary>
    /// The snapshot from <paramref name="files"/>, or from the cluster when <c>--kubeconfig</c> is given (exactly one of
    /// them); <paramref name="resources"/> narrows what is listed (default: everything a snapshot holds).
    /// </summary>
    public ClusterSnapshot Load(ParseResult result, Option<string[]> files, CliStreams streams, SecretFilter? keep = null,
        IReadOnlyCollection<string>? namespaces = null, CompiledPolicy? policy = null, IReadOnlyList<string>? resources = null) =>
        ClusterSnapshot.Create(Read(result, files, streams, keep, namespaces, policy, resources));

    /// <summary>As <see cref="Load"/>, each file or listed resource as its own source (objects with where they were read).</summary>
    public List<SnapshotSource> Read(ParseResult result, Option<string[]> files, CliStreams streams, SecretFilter? keep = null,
        IReadOnlyCollection<string>? namespaces = null, CompiledPolicy? policy = null, IReadOnlyList<string>? resources = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        string option = files.Name is "--filename" or "--file" ? "-f" : files.Name;
        string[] paths = result.GetValue(files) ?? [];
        string? kubeconfig = result.GetValue(Kubeconfig);
        if (kubeconfig is null)
        {
            if (result.GetValue(Context) is not null || result.GetValue(AllNamespaces))
            {
                throw new UsageException("--context and -A read a live cluster: they need --kubeconfig FILE");
            }

            return paths.Length > 0
                ? SnapshotInput.Read(paths, streams, keep, option)
                : throw new UsageException($"give {option} FILE (a 'kubectl get ... -o yaml|json' dump) or --kubeconfig FILE (a live, read-only read of the cluster)");
        }

        if (paths.Length > 0)
        {
            throw new UsageException($"{option} and --kubeconfig exclude each other: read a dump or the cluster, not both");
        }

        bool all = result.GetValue(AllNamespaces);
        if (all && namespaces is { Count: > 0 })
        {
            throw new UsageException("-A reads every namespace and -n narrows the read: use one of them");
        }

        TimeSpan requestTimeout = ControllerCommands.Duration(result.GetValue(RequestTimeout)!, "--request-timeout");
        if (requestTimeout <= TimeSpan.Zero || requestTimeout > TimeSpan.FromMinutes(5))
        {
            throw new UsageException("--request-timeout must be above 0 and at most 5m");
        }

        KubernetesConnection connection = ControllerCommands.Connect(kubeconfig, result.GetValue(Context));
        IEnumerable<LiveReadScope> scopes = namespaces is { Count: > 0 }
            ? namespaces.Concat(policy?.Vocabulary.BaseNamespaces ?? []).Distinct(StringComparer.Ordinal).Select(ns => new LiveReadScope(ns))
            : [LiveReadScope.AllNamespaces];
        if (resources is not null)
        {
            // Only what the command needs: a command that reads no Secrets never lists them.
            scopes = [.. scopes.Select(scope => scope with { Resources = resources })];
        }

        scopes = [.. scopes.Select(scope => scope with { RequestTimeout = requestTimeout })];

        var sources = new List<SnapshotSource>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            foreach (LiveReadScope scope in scopes)
            {
                sources.AddRange(LiveCluster.ReadAsync(connection, scope, keep, timeout.Token).GetAwaiter().GetResult());
            }
        }
        catch (HttpRequestException e)
        {
            throw new InputException($"cannot read the cluster at {connection}: {e.Message}");
        }
        catch (OperationCanceledException)
        {
            throw new InputException($"reading the cluster at {connection} took longer than 5 minutes; nothing was evaluated");
        }

        return sources;
    }
}
