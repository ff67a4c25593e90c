using System.Collections.Immutable;
using System.CommandLine;
using System.Text.Json.Nodes;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Pulls;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Cli;

/// <summary><c>registry-policy doctor</c>: one report for one cluster snapshot.</summary>
internal static class DoctorCommands
{
    private const string Manual = "manual: nothing will do this for you";

    private static readonly string[] RegistryHeader = ["NAMESPACE", "SOURCE", "SECRET", "PUSH", "PULL", "USERNAME", "CREDENTIAL"];

    private static readonly string[] PullHeader = ["NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "CREDENTIAL", "FINDINGS"];

    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        Option<string[]> files = SnapshotInput.FilesOption();
        Option<string?> policy = SnapshotInput.PolicyOption();
        Option<string?> preset = SnapshotInput.PresetOption();
        Option<string> output = OutputFormat.Create("table", "table", "json", "yaml");
        Option<bool> compact = OutputFormat.CompactOption();
        var failOnFinding = new Option<bool>("--fail-on-finding") { Description = "Exit 3 when any finding is an error." };
        var command = new Command("doctor",
            "One report for one cluster snapshot: the kubectl command that captures what it needs, per namespace the build registry and " +
            "credential (when the policy resolves registries), per workload the pull credential, the pending plan actions (each marked as done by " +
            "a controller or 'manual: nothing will do this for you'), and the findings ranked, each with its fix. The pulls are those of the cluster " +
            "after the automated actions only: steps nobody runs are not assumed done. Exit 0; 1 on input errors; 3 with --fail-on-finding when a finding is an error.")
        {
            files, policy, preset, output, compact, failOnFinding,
        };
        files.Required = false;
        var live = new LiveInput();
        live.AddTo(command);
        examples[command] = """
              registry-policy doctor -f samples/kyma-cluster.yaml
              registry-policy doctor -f samples/ibm-iks-cluster.yaml --preset ibm-iks
              registry-policy doctor -f samples/openfaas-cluster.yaml --preset openfaas -o json --fail-on-finding
            """;
        command.SetAction(result =>
        {
            CompiledPolicy compiled = SnapshotInput.LoadPolicy(result.GetValue(policy), result.GetValue(preset), streams);
            ClusterSnapshot snapshot = live.Load(result, files, streams);
            // The fix commands read the same inputs as this report: the files, or the same live cluster.
            string[] inputWords = result.GetValue(live.Kubeconfig) is { } kubeconfig
                ? ["--kubeconfig", kubeconfig, .. result.GetValue(live.Context) is { } ctx ? new[] { "--context", ctx } : []]
                : [.. (result.GetValue(files) ?? []).SelectMany(f => new[] { "-f", f })];
            Report report = Diagnose(compiled, snapshot, inputWords, result.GetValue(policy));
            string format = result.GetValue(output)!;
            if (format == "table")
            {
                WriteTable(streams.Out, report);
                DiagnosticOutput.WriteText(streams.Error, snapshot.Diagnostics);
            }
            else
            {
                StructuredOutput.Write(streams.Out, Json(report, snapshot), format, result.GetValue(compact));
            }

            bool errors = report.Findings.Any(f => f.Severity == DiagnosticSeverity.Error);
            return SnapshotInput.HasErrors(snapshot.Diagnostics) ? ExitCodes.InputError
                : errors && result.GetValue(failOnFinding) ? ExitCodes.Refused
                : ExitCodes.Ok;
        });
        return command;
    }

    private sealed record Pending(string Action, bool Automated, string Rule, string? Command, ObjectReference Subject);

    private sealed record Report(CompiledPolicy Policy, string Capture, ImmutableArray<NamespaceResolution> Namespaces, ImmutableArray<ContainerPull> Pulls,
        Dictionary<ContainerPull, int> Folded, List<Pending> Pending, List<Diagnostic> Findings);

    private static Report Diagnose(CompiledPolicy policy, ClusterSnapshot snapshot, string[] inputWords, string? policyFile)
    {
        RegistryPolicyDocument document = policy.Document;
        var manualRules = new HashSet<string>(document.Spec.Propagation.Where(r => r.Manual).Select(r => r.Name)
            .Concat(document.Spec.ServiceAccountLinks.Where(r => r.Manual).Select(r => r.Name)), StringComparer.Ordinal);
        PropagationPlan plan = PolicyEngine.Plan(policy, snapshot);
        bool IsManual(string? rule) => rule is not null && rule.Split(',').Any(r => manualRules.Contains(r.Trim()));

        // The cluster as it will be: what a controller does is assumed done; what only people do is not.
        var automated = new PropagationPlan([.. plan.Actions.Where(a => !IsManual(a.Rule))], plan.Warnings)
        {
            ServiceAccountPatches = [.. plan.ServiceAccountPatches.Where(p => !IsManual(p.Rule))],
        };
        ClusterSnapshot expected = automated.ApplyTo(snapshot);
        ImmutableArray<NamespaceResolution> namespaces = document.Spec.Resolution is null
            ? []
            : PolicyEngine.Evaluate(policy, expected, EvaluationView.AsIs).Namespaces;
        ImmutableArray<ContainerPull> pulls = PullCommands.Fold(expected, PullEngine.Analyze(expected, PullEngine.OptionsFor(policy, expected)), out var folded);

        var pending = new List<Pending>();
        // A create or update has no one-line command (it needs the manifest): the plan prints the manifests to apply.
        // The same inputs as this report, so that the command runs as printed.
        string which = policyFile is not null ? $"--policy {WhatIfCommands.Shell([policyFile])}" : $"--preset {policy.Name}";
        string inputs = WhatIfCommands.Shell(inputWords);
        string applyAll = $"registry-policy plan {inputs} {which} -o manifests --show-secrets | kubectl apply -f -";
        pending.AddRange(plan.Actions.Select(a => new Pending($"{a.Operation.ToString().ToLowerInvariant()} secret {a.Secret}: {a.Reason}", !IsManual(a.Rule), a.Rule,
            a.ToKubectlCommand() ?? applyAll, new ObjectReference("Secret", a.Secret.Namespace, a.Secret.Name))));
        pending.AddRange(plan.ServiceAccountPatches.Select(p => new Pending(
            $"patch serviceaccount {p.ServiceAccount.Namespace}/{p.ServiceAccount.Name}: {p.Reason}", !IsManual(p.Rule), p.Rule ?? "", p.ToKubectlCommand(), p.ServiceAccount)));

        var findings = new List<Diagnostic>();
        findings.AddRange(pulls.SelectMany(p => p.Findings).Distinct());
        findings.AddRange(plan.Warnings);
        if (document.Spec.Resolution is not null)
        {
            findings.AddRange(PolicyEngine.Evaluate(policy, snapshot).Diagnostics);
            findings.AddRange(namespaces.Where(n => n.Source == ResolutionSource.None && snapshot.GetNamespace(n.Namespace) is { } ns && !ns.IsTerminating &&
                    snapshot.Functions.Any(f => f.Namespace == n.Namespace))
                .Select(n => new Diagnostic("no-registry", DiagnosticSeverity.Error,
                    $"the namespace has Functions but no registry: {n.Reason}") { Subject = new ObjectReference("Namespace", null, n.Namespace) }));
        }

        foreach (Pending step in pending.Where(p => !p.Automated))
        {
            findings.Add(new Diagnostic("manual-step", DiagnosticSeverity.Warning,
                $"{Manual}: {step.Action}" + (step.Command is null ? "" : $"; run: {step.Command}")) { Subject = step.Subject });
        }

        // Ranked: errors, then warnings, then the rest; within each, in the order found.
        findings = [.. findings.Select((f, i) => (f, i)).OrderBy(x => x.f.Severity switch { DiagnosticSeverity.Error => 0, DiagnosticSeverity.Warning => 1, _ => 2 }).ThenBy(x => x.i).Select(x => x.f)];
        return new Report(policy, CaptureCommand(policy), namespaces, pulls, folded, pending, findings);
    }

    /// <summary>The <c>kubectl get</c> that captures what this policy reads, and nothing else.</summary>
    internal static string CaptureCommand(CompiledPolicy policy)
    {
        var kinds = new List<string> { "namespaces", "secrets", "serviceaccounts", "pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs" };
        if (policy.Document.Spec.Resolution is not null)
        {
            kinds.Add("functions.serverless.kyma-project.io");
        }

        return $"kubectl get {string.Join(",", kinds)} -A -o yaml > cluster.yaml";
    }

    private static void WriteTable(TextWriter output, Report report)
    {
        output.WriteLine($"policy {report.Policy.Name}; capture a snapshot with: {report.Capture}");
        if (!report.Namespaces.IsEmpty)
        {
            output.WriteLine();
            output.WriteLine("Build registry per namespace:");
            var rows = new List<string[]> { RegistryHeader };
            rows.AddRange(report.Namespaces.Select(n => new[]
            {
                n.Namespace, PolicyNames.Of(n.Source), n.Secret?.Name ?? "-", n.PushAddress ?? "-", n.PullAddress ?? "-", n.Username ?? "-", n.CredentialFingerprint ?? "-",
            }));
            Table.Write(output, rows);
        }

        output.WriteLine();
        output.WriteLine("Pull credential per workload (after what controllers do; manual steps not assumed):");
        if (report.Pulls.IsEmpty)
        {
            output.WriteLine("  (no workloads in the snapshot)");
        }
        else
        {
            var rows = new List<string[]> { PullHeader };
            rows.AddRange(report.Pulls.Select(p => new[]
            {
                p.Workload.Namespace ?? "-", $"{p.Workload.Kind}/{p.Workload.Name}" + (report.Folded.TryGetValue(p, out int n) ? $" (+{n})" : ""),
                p.Container.Name, p.Container.Image, p.CredentialSecret is { } s ? $"{s.Name}: {p.CredentialServer}" : "-",
                p.Findings.IsEmpty ? "-" : string.Join(",", p.Findings.Select(f => f.Code).Distinct()),
            }));
            Table.Write(output, rows);
        }

        output.WriteLine();
        output.WriteLine("Pending actions:");
        if (report.Pending.Count == 0)
        {
            output.WriteLine("  none: the snapshot is converged");
        }

        foreach (Pending step in report.Pending)
        {
            output.WriteLine($"  {(step.Automated ? "controller" : Manual)}: {Table.Cell(step.Action)}");
        }

        output.WriteLine();
        output.WriteLine($"Findings ({report.Findings.Count}, most severe first):");
        if (report.Findings.Count == 0)
        {
            output.WriteLine("  none");
        }

        int rank = 1;
        foreach (Diagnostic finding in report.Findings)
        {
            output.WriteLine($"  {rank++}. {finding}");
        }
    }

    private static JsonObject Json(Report report, ClusterSnapshot snapshot) => new()
    {
        ["policy"] = report.Policy.Name,
        ["capture"] = report.Capture,
        ["namespaces"] = new JsonArray([.. report.Namespaces.Select(ResolutionCommands.ResolutionJson)]),
        ["pulls"] = new JsonArray([.. report.Pulls.Select(p => (JsonNode)new JsonObject
        {
            ["namespace"] = p.Workload.Namespace,
            ["kind"] = p.Workload.Kind,
            ["name"] = p.Workload.Name,
            ["container"] = p.Container.Name,
            ["image"] = p.Container.Image,
            ["credentialSecret"] = p.CredentialSecret?.Name,
            ["credentialKey"] = p.CredentialServer,
            ["findings"] = new JsonArray([.. p.Findings.Select(f => (JsonNode)f.Code).Distinct()]),
        })]),
        ["pending"] = new JsonArray([.. report.Pending.Select(p => (JsonNode)new JsonObject
        {
            ["action"] = p.Action, ["automated"] = p.Automated, ["rule"] = p.Rule, ["command"] = p.Command,
        })]),
        ["findings"] = ResolutionCommands.DiagnosticsJson(report.Findings),
        ["diagnostics"] = ResolutionCommands.DiagnosticsJson(snapshot.Diagnostics),
    };
}
