using System.CommandLine;
using System.Text.Json.Nodes;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Pulls;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Cli;

/// <summary><c>registry-policy pulls</c>.</summary>
internal static class PullCommands
{
    private static readonly string[] Header = ["NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "CREDENTIAL", "FINDINGS"];

    private static readonly string[] WideHeader = ["NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "PULL POLICY", "PULL SECRETS", "CREDENTIAL", "FINGERPRINT", "FINDINGS"];

    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        Option<string[]> files = SnapshotInput.FilesOption();
        var pullPolicy = new Option<string?>("--default-pull-policy") { Description = "A pull policy for containers that set none (OpenFaaS's functions.imagePullPolicy).", HelpName = "policy" };
        pullPolicy.AcceptOnlyFromAmong("Always", "IfNotPresent", "Never");
        Option<string> output = OutputFormat.Create("table", "table", "wide", "json", "yaml");
        Option<bool> compact = OutputFormat.CompactOption();
        var allObjects = new Option<bool>("--all-objects")
        {
            Description = "One row per object: also the ReplicaSets, Jobs and Pods a workload in the snapshot controls (by default they are folded into it when they pull the same way).",
        };
        var policy = new Option<string?>("--policy") { Description = "A policy document whose pull-secret copies, ServiceAccount links and pull defaults apply (spec.pulls).", HelpName = "file" };
        var preset = new Option<string?>("--preset") { Description = $"A built-in policy instead: {string.Join(", ", Policies.PolicyPresets.Names)}.", HelpName = "name" };
        var view = new Option<string>("--view")
        {
            Description = "With a policy: 'converged' (after its plan: Secret copies and ServiceAccount links applied) or 'as-is'.",
            DefaultValueFactory = _ => "converged",
        };
        view.AcceptOnlyFromAmong("converged", "as-is");
        var failOnFinding = new Option<bool>("--fail-on-finding") { Description = "Exit 3 when any finding is an error (as whatif --fail-on-change and swap check do)." };
        var namespaces = new Option<string[]>("--namespace", "-n")
        {
            Description = "Report only these namespaces' workloads (repeatable). With --kubeconfig, only they and the policy's base namespaces are read.",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "ns",
        };
        Names.RefuseNonNamespaces(namespaces);
        var command = new Command("pulls",
            "For every workload and every container: the pull secrets used (the pod's, else its ServiceAccount's), the Secret and key (as written) " +
            "of the credential the kubelet picks for the image (never the password), the effective pull policy (-o wide), and findings with their fix: " +
            "missing or mistyped pull secrets, private images without a credential, credentials copied into the namespace but not linked. Pods and " +
            "ReplicaSets are folded into the workload that controls them (--all-objects lists them). With --policy or --preset, the cluster as the " +
            "policy leaves it (its copies and ServiceAccount links applied; spec.pulls.privateRepositories declares private repositories). " +
            "Exit 0; 1 on input errors; 3 (with --fail-on-finding) when a finding is an error.")
        {
            files, policy, preset, view, pullPolicy, output, compact, allObjects, failOnFinding, namespaces,
        };
        files.Required = false;
        var live = new LiveInput(namespaces: true);
        live.AddTo(command);
        examples[command] = """
              kubectl get namespaces,secrets,serviceaccounts,pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs -A -o yaml > cluster.yaml
              registry-policy pulls -f samples/openfaas-cluster.yaml
              registry-policy pulls -f samples/ibm-iks-cluster.yaml -o json --fail-on-finding
              registry-policy pulls -f samples/ibm-iks-cluster.yaml --preset ibm-iks
              registry-policy pulls -f samples/openfaas-cluster.yaml --preset openfaas --view as-is -o wide
              registry-policy pulls -f samples/openfaas-cluster.yaml --all-objects -o yaml
            """;
        command.SetAction(result =>
        {
            string[] only = result.GetValue(namespaces) ?? [];
            Policies.CompiledPolicy? given = result.GetValue(policy) is null && result.GetValue(preset) is null
                ? null
                : SnapshotInput.LoadPolicy(result.GetValue(policy), result.GetValue(preset), streams);
            ClusterSnapshot snapshot = live.Load(result, files, streams, namespaces: only, policy: given);
            string? overridePolicy = result.GetValue(pullPolicy);
            Dictionary<ContainerPull, int> folded = [];
            System.Collections.Immutable.ImmutableArray<ContainerPull> pulls;
            if (given is null)
            {
                pulls = PullEngine.Analyze(snapshot, new PullCoverageOptions { DefaultPullPolicy = overridePolicy });
            }
            else
            {
                Policies.CompiledPolicy compiled = given;
                Resolution.EvaluationView mode = result.GetValue(view) == "as-is" ? Resolution.EvaluationView.AsIs : Resolution.EvaluationView.Converged;
                pulls = PullEngine.Analyze(compiled, snapshot, mode, overridePolicy);
                string[] manual = [.. compiled.Document.Spec.Propagation.Where(r => r.Manual).Select(r => r.Name)
                    .Concat(compiled.Document.Spec.ServiceAccountLinks.Where(r => r.Manual).Select(r => r.Name))];
                if (mode == Resolution.EvaluationView.Converged && manual.Length > 0 && !Resolution.PolicyEngine.Plan(compiled, snapshot).IsEmpty)
                {
                    streams.Error.WriteLine($"note: the converged view assumes the policy's manual steps are done (rules {string.Join(", ", manual)}); " +
                        "nothing in the cluster does them. '--view as-is' shows the cluster as it is, 'registry-policy doctor' the cluster after what controllers do.");
                }
            }

            if (!result.GetValue(allObjects))
            {
                pulls = Fold(snapshot, pulls, out folded);
            }

            if (only.Length > 0)
            {
                var wanted = new HashSet<string>(only, StringComparer.Ordinal);
                pulls = [.. pulls.Where(p => p.Workload.Namespace is { } ns && wanted.Contains(ns))];
            }

            string format = result.GetValue(output)!;
            if (format is "json" or "yaml")
            {
                StructuredOutput.Write(streams.Out, new JsonObject
                {
                    ["containers"] = new JsonArray([.. pulls.Select(p => (JsonNode)new JsonObject
                    {
                        ["namespace"] = p.Workload.Namespace,
                        ["kind"] = p.Workload.Kind,
                        ["name"] = p.Workload.Name,
                        ["container"] = p.Container.Name,
                        ["image"] = p.Container.Image,
                        ["pullPolicy"] = p.PullPolicy,
                        ["pullSecrets"] = new JsonArray([.. p.PullSecrets.Select(s => (JsonNode)s)]),
                        ["credentialSecret"] = p.CredentialSecret?.Name,
                        ["credentialKey"] = p.CredentialServer,
                        ["credentialMatch"] = p.CredentialKey,
                        ["credentialFingerprint"] = p.CredentialFingerprint,
                        ["foldedObjects"] = folded.TryGetValue(p, out int n) ? n : 0,
                        ["findings"] = new JsonArray([.. p.Findings.Select(f => (JsonNode)new JsonObject
                        {
                            ["severity"] = f.Severity.ToString().ToLowerInvariant(), ["code"] = f.Code, ["message"] = f.Message,
                        })]),
                    })]),
                    ["diagnostics"] = ResolutionCommands.DiagnosticsJson(snapshot.Diagnostics),
                }, format, result.GetValue(compact));
            }
            else
            {
                bool wide = format == "wide";
                var rows = new List<string[]> { wide ? WideHeader : Header };
                rows.AddRange(pulls.Select(p =>
                {
                    string workload = $"{p.Workload.Kind}/{p.Workload.Name}" + (folded.TryGetValue(p, out int n) ? $" (+{n})" : "");
                    string credential = p.CredentialSecret is { } secret ? $"{secret.Name}: {p.CredentialServer}" : "-";
                    string findings = p.Findings.IsEmpty ? "-" : string.Join(",", p.Findings.Select(f => f.Code).Distinct());
                    return wide
                        ? [p.Workload.Namespace ?? "-", workload, p.Container.Name, p.Container.Image, p.PullPolicy,
                            p.PullSecrets.IsEmpty ? "-" : string.Join(",", p.PullSecrets), credential, p.CredentialFingerprint ?? "-", findings]
                        : new[] { p.Workload.Namespace ?? "-", workload, p.Container.Name, p.Container.Image, credential, findings };
                }));
                Table.Write(streams.Out, rows);
                if (pulls.IsEmpty)
                {
                    streams.Error.WriteLine("note: the snapshot has no Pods or workloads (capture them with: kubectl get pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,serviceaccounts,secrets -A -o yaml)");
                }

                DiagnosticOutput.WriteText(streams.Error, snapshot.Diagnostics.Concat(pulls.SelectMany(p => p.Findings).Distinct()));
            }

            bool errors = pulls.Any(p => p.Findings.Any(f => f.Severity == DiagnosticSeverity.Error));
            return SnapshotInput.HasErrors(snapshot.Diagnostics) ? ExitCodes.InputError
                : errors && result.GetValue(failOnFinding) ? ExitCodes.Refused
                : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// One row per workload: a ReplicaSet, Job or Pod whose controller chain reaches a workload of the snapshot is left out when
    /// its container pulls the same way (the same pull secrets, credential and finding codes) as that workload's; one that differs
    /// (a Pod from an older template, say) keeps its row. The count folded into each row is returned.
    /// </summary>
    internal static System.Collections.Immutable.ImmutableArray<ContainerPull> Fold(ClusterSnapshot snapshot, System.Collections.Immutable.ImmutableArray<ContainerPull> pulls,
        out Dictionary<ContainerPull, int> folded)
    {
        var workloads = snapshot.Workloads.ToDictionary(w => w.Reference);
        var rows = new Dictionary<(ObjectReference, string), ContainerPull>();
        foreach (ContainerPull p in pulls)
        {
            rows.TryAdd((p.Workload, p.Container.Name), p);
        }

        folded = [];
        var kept = System.Collections.Immutable.ImmutableArray.CreateBuilder<ContainerPull>();
        foreach (ContainerPull p in pulls)
        {
            ObjectReference? top = null;
            ObjectReference at = p.Workload;
            for (int depth = 0; depth < 4 && workloads.TryGetValue(at, out WorkloadObject? w) && w.Controller is { } owner && workloads.ContainsKey(owner); depth++)
            {
                top = at = owner;
            }

            if (top is { } t && rows.TryGetValue((t, p.Container.Name), out ContainerPull? owning) && SamePull(p, owning))
            {
                folded[owning] = folded.GetValueOrDefault(owning) + 1;
                continue;
            }

            kept.Add(p);
        }

        return kept.ToImmutable();

        static bool SamePull(ContainerPull a, ContainerPull b) =>
            a.Container.Image == b.Container.Image && a.PullSecrets.SequenceEqual(b.PullSecrets) && a.CredentialServer == b.CredentialServer &&
            a.CredentialSecret?.Name == b.CredentialSecret?.Name &&
            a.Findings.Select(f => f.Code).Order(StringComparer.Ordinal).SequenceEqual(b.Findings.Select(f => f.Code).Order(StringComparer.Ordinal));
    }
}
