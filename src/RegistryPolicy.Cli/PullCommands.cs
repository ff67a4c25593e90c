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
    private static readonly string[] Header = ["NAMESPACE", "KIND", "NAME", "CONTAINER", "IMAGE", "PULL POLICY", "PULL SECRETS", "CREDENTIAL KEY", "FINDINGS"];

    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        Option<string[]> files = SnapshotInput.FilesOption();
        var pullPolicy = new Option<string?>("--default-pull-policy") { Description = "A pull policy for containers that set none (OpenFaaS's functions.imagePullPolicy).", HelpName = "policy" };
        pullPolicy.AcceptOnlyFromAmong("Always", "IfNotPresent", "Never");
        Option<string> output = OutputFormat.Create("table", "table", "json");
        var policy = new Option<string?>("--policy") { Description = "A policy document whose pull-secret copies, ServiceAccount links and pull defaults apply (spec.pulls).", HelpName = "file" };
        var preset = new Option<string?>("--preset") { Description = $"A built-in policy instead: {string.Join(", ", Policies.PolicyPresets.Names)}.", HelpName = "name" };
        var view = new Option<string>("--view")
        {
            Description = "With a policy: 'converged' (after its plan: Secret copies and ServiceAccount links applied) or 'as-is'.",
            DefaultValueFactory = _ => "converged",
        };
        view.AcceptOnlyFromAmong("converged", "as-is");
        var failOnFinding = new Option<bool>("--fail-on-finding") { Description = "Exit 3 when any finding is an error (as whatif --fail-on-change and swap check do)." };
        var command = new Command("pulls",
            "For every Pod and workload and every container: the effective pull policy, the pull secrets used (the pod's, else its ServiceAccount's), " +
            "the credential key the kubelet picks for the image (never the password), and findings: missing or mistyped pull secrets, private images " +
            "without a credential. With --policy or --preset, the cluster as the policy leaves it (its copies and ServiceAccount links applied). " +
            "Exit 0; 1 on input errors; 3 (with --fail-on-finding) when a finding is an error.")
        {
            files, policy, preset, view, pullPolicy, output, failOnFinding,
        };
        examples[command] = """
              kubectl get pods,deployments,serviceaccounts,secrets -A -o yaml > cluster.yaml
              registry-policy pulls -f samples/openfaas-cluster.yaml
              registry-policy pulls -f samples/ibm-iks-cluster.yaml -o json --fail-on-finding
              registry-policy pulls -f samples/ibm-iks-cluster.yaml --preset ibm-iks
              registry-policy pulls -f samples/openfaas-cluster.yaml --preset openfaas --view as-is
            """;
        command.SetAction(result =>
        {
            ClusterSnapshot snapshot = SnapshotInput.Load(result.GetValue(files)!, streams);
            string? overridePolicy = result.GetValue(pullPolicy);
            System.Collections.Immutable.ImmutableArray<ContainerPull> pulls;
            if (result.GetValue(policy) is null && result.GetValue(preset) is null)
            {
                pulls = PullEngine.Analyze(snapshot, new PullCoverageOptions { DefaultPullPolicy = overridePolicy });
            }
            else
            {
                Policies.CompiledPolicy compiled = SnapshotInput.LoadPolicy(result.GetValue(policy), result.GetValue(preset), streams);
                Resolution.EvaluationView mode = result.GetValue(view) == "as-is" ? Resolution.EvaluationView.AsIs : Resolution.EvaluationView.Converged;
                pulls = PullEngine.Analyze(compiled, snapshot, mode, overridePolicy);
            }

            if (result.GetValue(output) == "json")
            {
                StructuredOutput.WriteJson(streams.Out, new JsonObject
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
                        ["credentialKey"] = p.CredentialKey,
                        ["findings"] = new JsonArray([.. p.Findings.Select(f => (JsonNode)new JsonObject
                        {
                            ["severity"] = f.Severity.ToString().ToLowerInvariant(), ["code"] = f.Code, ["message"] = f.Message,
                        })]),
                    })]),
                    ["diagnostics"] = ResolutionCommands.DiagnosticsJson(snapshot.Diagnostics),
                });
            }
            else
            {
                var rows = new List<string[]> { Header };
                rows.AddRange(pulls.Select(p => new[]
                {
                    p.Workload.Namespace ?? "-", p.Workload.Kind, p.Workload.Name, p.Container.Name, p.Container.Image, p.PullPolicy,
                    p.PullSecrets.IsEmpty ? "-" : string.Join(",", p.PullSecrets), p.CredentialKey ?? "-",
                    p.Findings.IsEmpty ? "-" : string.Join("; ", p.Findings.Select(f => f.Code)),
                }));
                Table.Write(streams.Out, rows);
                DiagnosticOutput.WriteText(streams.Error, snapshot.Diagnostics.Concat(pulls.SelectMany(p => p.Findings).Distinct()));
            }

            bool errors = pulls.Any(p => p.Findings.Any(f => f.Severity == DiagnosticSeverity.Error));
            return SnapshotInput.HasErrors(snapshot.Diagnostics) ? ExitCodes.InputError
                : errors && result.GetValue(failOnFinding) ? ExitCodes.Refused
                : ExitCodes.Ok;
        });
        return command;
    }
}
