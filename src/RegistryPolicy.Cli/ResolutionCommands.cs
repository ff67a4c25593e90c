using System.Collections.Immutable;
using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Primitives;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Cli;

/// <summary><c>resolve</c>, <c>explain</c>, <c>plan</c> and <c>admit</c>.</summary>
internal static class ResolutionCommands
{
    private static readonly string[] PlanHeader = ["OP", "OBJECT", "RULE", "REASON"];

    private static readonly string[] ResolveHeader = ["NAMESPACE", "SOURCE", "SECRET", "PUSH", "PULL", "USERNAME", "CREDENTIAL"];

    private const string SecretsHidden = "<hidden: pass --show-secrets>";

    public static Command BuildResolve(CliStreams streams, Dictionary<Command, string> examples)
    {
        Option<string[]> files = SnapshotInput.FilesOption();
        Option<string?> policy = SnapshotInput.PolicyOption();
        Option<string?> preset = SnapshotInput.PresetOption();
        Option<string> view = ViewOption();
        var namespaces = new Option<string[]>("--namespace", "-n")
        {
            Description = "Report only these namespaces (repeatable). A namespace the snapshot does not mention is still reported, as an existing namespace without labels.",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "ns",
        };
        Names.RefuseNonNamespaces(namespaces);
        Option<string> output = OutputFormat.Create("table", "table", "json", "yaml");
        Option<bool> compact = OutputFormat.CompactOption();
        var command = new Command("resolve",
            "Which registry and credentials each namespace uses under a policy (default: Kyma Serverless 2.x), computed offline from a snapshot. " +
            "Exit 0, or 1 when the snapshot or policy has errors (the rest is still evaluated and printed).")
        {
            files, policy, preset, view, namespaces, output, compact,
        };
        files.Required = false;
        var live = new LiveInput(namespaces: true);
        live.AddTo(command);
        examples[command] = """
              kubectl get namespaces,secrets,functions -A -o yaml > cluster.yaml
              registry-policy resolve -f samples/kyma-cluster.yaml
              registry-policy resolve -f samples/kyma-cluster.yaml -n team-a -n team-b -o json
              registry-policy resolve -f samples/kyma-cluster.yaml --view as-is --preset kyma-serverless-module
              registry-policy policy show kyma-serverless > my-policy.yaml && registry-policy resolve -f samples/kyma-cluster.yaml -f samples/cluster-wide-override.yaml --policy my-policy.yaml -o yaml
            """;
        command.SetAction(result =>
        {
            CompiledPolicy compiled = SnapshotInput.LoadPolicy(result.GetValue(policy), result.GetValue(preset), streams);
            // Only the Secrets the policy can match are decoded: resolution and its lints are the same, memory is proportional.
            ClusterSnapshot snapshot = live.Load(result, files, streams, compiled.SecretFilter, result.GetValue(namespaces), compiled);
            var options = new EvaluationOptions { View = ParseView(result.GetValue(view)!), Namespaces = [.. result.GetValue(namespaces) ?? []] };
            WarnUnknownNamespaces(streams, snapshot, options.Namespaces);
            Evaluation evaluation = PolicyEngine.Evaluate(compiled, snapshot, options);
            ImmutableArray<Diagnostic> diagnostics = [.. snapshot.Diagnostics, .. evaluation.Diagnostics];
            string format = result.GetValue(output)!;
            if (compiled.Document.Spec.Resolution is null)
            {
                streams.Error.WriteLine($"note: policy '{compiled.Name}' has no resolution rule, so every namespace resolves to 'none'. " +
                    "Its Secret copies and ServiceAccount links: 'registry-policy plan'; the credential each container pulls with: 'registry-policy pulls'.");
            }

            if (format == "table")
            {
                var rows = new List<string[]> { ResolveHeader };
                rows.AddRange(evaluation.Namespaces.Select(n => new[]
                {
                    n.Namespace, PolicyNames.Of(n.Source), n.Secret?.Name ?? "-", Cell(n.PushAddress), Cell(n.PullAddress), Cell(n.Username),
                    n.CredentialFingerprint ?? "-",
                }));
                Table.Write(streams.Out, rows);
                DiagnosticOutput.WriteText(streams.Error, diagnostics);
            }
            else
            {
                var root = new JsonObject
                {
                    ["policy"] = compiled.Name,
                    ["view"] = ViewName(options.View),
                    ["namespaces"] = new JsonArray([.. evaluation.Namespaces.Select(ResolutionJson)]),
                    ["diagnostics"] = DiagnosticsJson(diagnostics),
                };
                StructuredOutput.Write(streams.Out, root, format, result.GetValue(compact));
            }

            return SnapshotInput.HasErrors(snapshot.Diagnostics) ? ExitCodes.InputError : ExitCodes.Ok;
        });
        return command;
    }

    public static Command BuildExplain(CliStreams streams, Dictionary<Command, string> examples)
    {
        Option<string[]> files = SnapshotInput.FilesOption();
        Option<string?> policy = SnapshotInput.PolicyOption();
        Option<string?> preset = SnapshotInput.PresetOption();
        Option<string> view = ViewOption();
        var namespaces = new Option<string[]>("--namespace", "-n")
        {
            Description = "The namespace to explain (repeatable; required).",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            HelpName = "ns",
        };
        Names.RefuseNonNamespaces(namespaces);
        Option<string> output = OutputFormat.Create("text", "text", "json", "yaml");
        Option<bool> compact = OutputFormat.CompactOption();
        var command = new Command("explain",
            "Explain, for people, how a namespace's registry is decided: every candidate Secret in order, why it applied or was skipped, " +
            "what propagation does to the namespace, and which keys gave the addresses. Never prints credentials.")
        {
            files, policy, preset, view, namespaces, output, compact,
        };
        files.Required = false;
        var live = new LiveInput(namespaces: true);
        live.AddTo(command);
        examples[command] = """
              registry-policy explain -f samples/kyma-cluster.yaml -n team-a
              registry-policy explain -f samples/kyma-cluster.yaml -n team-a --view as-is
              registry-policy explain -f samples/kyma-cluster.yaml -n team-a -n team-b -o yaml
            """;
        command.SetAction(result =>
        {
            CompiledPolicy compiled = SnapshotInput.LoadPolicy(result.GetValue(policy), result.GetValue(preset), streams);
            ClusterSnapshot snapshot = live.Load(result, files, streams, compiled.SecretFilter, result.GetValue(namespaces), compiled);
            var options = new EvaluationOptions { View = ParseView(result.GetValue(view)!), Namespaces = [.. result.GetValue(namespaces)!] };
            WarnUnknownNamespaces(streams, snapshot, options.Namespaces);
            Evaluation evaluation = PolicyEngine.Evaluate(compiled, snapshot, options);
            string format = result.GetValue(output)!;
            if (format != "text")
            {
                StructuredOutput.Write(streams.Out, new JsonObject
                {
                    ["policy"] = compiled.Name,
                    ["view"] = ViewName(options.View),
                    ["namespaces"] = new JsonArray([.. evaluation.Namespaces.Select(n =>
                    {
                        var json = (JsonObject)ResolutionJson(n);
                        json["trace"] = new JsonArray([.. evaluation.Explain(n.Namespace).Trace.Select(t => (JsonNode)new JsonObject
                        {
                            ["step"] = t.Step, ["outcome"] = t.Outcome.ToString().ToLowerInvariant(), ["detail"] = t.Detail,
                        })]);
                        return (JsonNode)json;
                    })]),
                    ["diagnostics"] = DiagnosticsJson([.. snapshot.Diagnostics, .. evaluation.Diagnostics]),
                }, format, result.GetValue(compact));
                return SnapshotInput.HasErrors(snapshot.Diagnostics) ? ExitCodes.InputError : ExitCodes.Ok;
            }

            streams.Out.WriteLine($"policy {compiled.Name}, {ViewName(options.View)} view");
            foreach (NamespaceResolution resolution in evaluation.Namespaces)
            {
                streams.Out.Write(evaluation.Explain(resolution.Namespace).ToString());
                foreach (Diagnostic d in evaluation.Diagnostics.Where(d => d.Subject?.Namespace == resolution.Namespace || d.Subject is { Kind: "Namespace" } s && s.Name == resolution.Namespace))
                {
                    streams.Out.WriteLine($"  note: {d}");
                }
            }

            DiagnosticOutput.WriteText(streams.Error, snapshot.Diagnostics);
            return SnapshotInput.HasErrors(snapshot.Diagnostics) ? ExitCodes.InputError : ExitCodes.Ok;
        });
        return command;
    }

    public static Command BuildPlan(CliStreams streams, Dictionary<Command, string> examples)
    {
        Option<string[]> files = SnapshotInput.FilesOption();
        Option<string?> policy = SnapshotInput.PolicyOption();
        Option<string?> preset = SnapshotInput.PresetOption();
        Option<string> output = OutputFormat.Create("table", "table", "json", "yaml", "manifests");
        Option<bool> compact = OutputFormat.CompactOption();
        var showSecrets = new Option<bool>("--show-secrets") { Description = "With -o manifests, include data and annotations in the manifests (they hold credentials)." };
        var namespaces = new Option<string[]>("--namespace", "-n")
        {
            Description = "Plan only these namespaces (repeatable): exactly the whole plan's actions and patches there. With --kubeconfig, only they and the policy's base namespaces are read.",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "ns",
        };
        Names.RefuseNonNamespaces(namespaces);
        var command = new Command("plan",
            "The actions (create, update, delete) the propagation controller takes to bring the snapshot to the converged state, and the ServiceAccount " +
            "patches that link pull secrets (RFC 6902, as 'kubectl patch --type=json' takes them), with hazards (finalizers that hang a delete, type " +
            "changes the API server refuses, ServiceAccounts missing from the snapshot) as warnings. -o json|yaml print the plan as data; -o manifests " +
            "prints manifests for 'kubectl apply' and the patches as 'kubectl patch' commands. Exit 0, or 1 on input errors.")
        {
            files, policy, preset, output, compact, showSecrets, namespaces,
        };
        files.Required = false;
        var live = new LiveInput(namespaces: true);
        live.AddTo(command);
        examples[command] = """
              registry-policy plan -f samples/kyma-cluster.yaml
              registry-policy plan -f samples/kyma-cluster.yaml -o json
              registry-policy plan -f samples/kyma-cluster.yaml -o yaml
              registry-policy plan -f samples/kyma-cluster.yaml -o manifests --show-secrets > converge.yaml
              registry-policy plan -f samples/ibm-iks-cluster.yaml --preset ibm-iks
              registry-policy plan -f samples/kyma-cluster.yaml -n team-a
            """;
        command.SetAction(result =>
        {
            CompiledPolicy compiled = SnapshotInput.LoadPolicy(result.GetValue(policy), result.GetValue(preset), streams);
            string[] only = result.GetValue(namespaces) ?? [];
            ClusterSnapshot snapshot = live.Load(result, files, streams, namespaces: only, policy: compiled);
            PropagationPlan plan = only.Length > 0 ? PolicyEngine.Plan(compiled, snapshot, only) : PolicyEngine.Plan(compiled, snapshot);
            bool show = result.GetValue(showSecrets);
            switch (result.GetValue(output))
            {
                case "table":
                    var rows = new List<string[]> { PlanHeader };
                    rows.AddRange(plan.Actions.Select(a => new[] { Op(a.Operation), "secret " + a.Secret, a.Rule, a.Reason }));
                    rows.AddRange(plan.ServiceAccountPatches.Select(p => new[] { "patch", $"serviceaccount {p.ServiceAccount.Namespace}/{p.ServiceAccount.Name}", p.Rule ?? "", p.Reason }));
                    Table.Write(streams.Out, rows);
                    DiagnosticOutput.WriteText(streams.Error, [.. snapshot.Diagnostics, .. plan.Warnings]);
                    break;
                case "json" or "yaml":
                    StructuredOutput.Write(streams.Out, new JsonObject
                    {
                        ["policy"] = compiled.Name,
                        ["actions"] = new JsonArray([.. plan.Actions.Select(a => (JsonNode)new JsonObject
                        {
                            ["op"] = Op(a.Operation),
                            ["secret"] = a.Secret.ToString(),
                            ["rule"] = a.Rule,
                            ["reason"] = a.Reason,
                        })]),
                        ["serviceAccountPatches"] = new JsonArray([.. plan.ServiceAccountPatches.Select(p => (JsonNode)new JsonObject
                        {
                            ["serviceAccount"] = $"{p.ServiceAccount.Namespace}/{p.ServiceAccount.Name}",
                            ["rule"] = p.Rule,
                            ["secrets"] = new JsonArray([.. p.Secrets.Select(n => (JsonNode)JsonValue.Create(n))]),
                            ["patch"] = JsonNode.Parse(p.ToJson()),
                            ["reason"] = p.Reason,
                        })]),
                        ["warnings"] = DiagnosticsJson(plan.Warnings),
                        ["diagnostics"] = DiagnosticsJson(snapshot.Diagnostics),
                    }, result.GetValue(output)!, result.GetValue(compact));
                    break;
                default:
                    WriteManifests(streams.Out, plan, show);
                    DiagnosticOutput.WriteText(streams.Error, [.. snapshot.Diagnostics, .. plan.Warnings]);
                    break;
            }

            return SnapshotInput.HasErrors(snapshot.Diagnostics) ? ExitCodes.InputError : ExitCodes.Ok;
        });
        return command;
    }

    public static Command BuildAdmit(CliStreams streams, Dictionary<Command, string> examples)
    {
        Option<string[]> files = SnapshotInput.FilesOption("The Secret manifest sent to the webhook (YAML or JSON; the first Secret in the file). stringData is merged into data first, as the API server does.");
        Option<string?> policy = SnapshotInput.PolicyOption();
        Option<string?> preset = SnapshotInput.PresetOption();
        var operation = new Option<string>("--operation") { Description = "CREATE (default) or UPDATE.", DefaultValueFactory = _ => "CREATE" };
        operation.AcceptOnlyFromAmong("CREATE", "UPDATE");
        var namespaceLabels = new Option<string[]>("--namespace-label")
        {
            Description = "A label of the Secret's namespace, key=value (repeatable), for the webhook's namespace selector.",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "key=value",
        };
        Option<string> output = OutputFormat.Create("text", "text", "json", "yaml");
        Option<bool> compact = OutputFormat.CompactOption();
        var showSecrets = new Option<bool>("--show-secrets") { Description = "Show the patch value and the object's data (they hold credentials)." };
        var command = new Command("admit",
            "What the policy's defaulting webhook answers for a Secret: allowed with an RFC 6902 patch and the mutated object, or refused with the reason. " +
            "Exit 0 allowed, 3 refused, 1 input errors.")
        {
            files, policy, preset, operation, namespaceLabels, output, compact, showSecrets,
        };
        examples[command] = """
              registry-policy admit -f samples/registry-secret.yaml
              registry-policy admit -f samples/registry-secret.yaml -o json --show-secrets
              registry-policy admit -f samples/registry-secret.yaml --operation UPDATE --namespace-label gardener.cloud/purpose=kube-system
            """;
        command.SetAction(result =>
        {
            CompiledPolicy compiled = SnapshotInput.LoadPolicy(result.GetValue(policy), result.GetValue(preset), streams);
            ClusterSnapshot snapshot = SnapshotInput.Load(result.GetValue(files)!, streams);
            DiagnosticOutput.WriteText(streams.Error, snapshot.Diagnostics);
            // The first Secret in the file: by line and column (a compact JSON list is one line).
            SecretObject? secret = snapshot.Secrets.OrderBy(s => Position(snapshot.LocationOf(s.Reference))).FirstOrDefault();
            // A Secret the API server refuses never reaches a webhook: that is the answer, not "no Secret".
            RefusedObject? refusal = snapshot.Refused
                .Where(r => r.Subject.Kind == "Secret")
                .OrderBy(r => Position(r.Location))
                .FirstOrDefault(r => secret is null || Position(r.Location) < Position(snapshot.LocationOf(secret.Reference)));
            if (refusal is not null)
            {
                string reason = $"the API server refuses the Secret before any webhook sees it: {refusal.Reason.Field}: {refusal.Reason.Message}";
                if (result.GetValue(output) != "text")
                {
                    StructuredOutput.Write(streams.Out, new JsonObject
                    {
                        ["allowed"] = false,
                        ["refusedBy"] = "api-server",
                        ["statusCode"] = 422,
                        ["object"] = refusal.Subject.ToString(),
                        ["reason"] = reason,
                    }, result.GetValue(output)!, result.GetValue(compact));
                }
                else
                {
                    streams.Out.WriteLine($"refused (422, by the API server): {refusal.Subject}: {reason}");
                }

                return ExitCodes.Refused;
            }

            if (secret is null)
            {
                throw new InputException("the file holds no Secret");
            }

            var labels = new List<KeyValuePair<string, string>>();
            foreach (string pair in result.GetValue(namespaceLabels) ?? [])
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new UsageException($"--namespace-label '{pair}' is not key=value");
                }

                labels.Add(new(pair[..eq], pair[(eq + 1)..]));
            }

            var request = new AdmissionRequest(result.GetValue(operation) == "UPDATE" ? AdmissionOperation.Update : AdmissionOperation.Create, secret)
            {
                NamespaceLabels = StringMap.Create(labels),
            };
            AdmissionResult answer = PolicyEngine.Admit(compiled, request);
            bool show = result.GetValue(showSecrets);
            if (result.GetValue(output) != "text")
            {
                StructuredOutput.Write(streams.Out, new JsonObject
                {
                    ["allowed"] = answer.Allowed,
                    ["selected"] = answer.Selected,
                    ["statusCode"] = answer.StatusCode,
                    ["patch"] = new JsonArray([.. answer.Patch.Select(p => (JsonNode)new JsonObject
                    {
                        ["op"] = p.Op,
                        ["path"] = p.Path,
                        ["value"] = show ? JsonNode.Parse(p.ValueJson) : SecretsHidden,
                    })]),
                    ["object"] = answer.MutatedSecret is { } mutated ? Manifest(mutated, show) : null,
                    ["reason"] = answer.Reason,
                }, result.GetValue(output)!, result.GetValue(compact));
            }
            else
            {
                streams.Out.WriteLine($"{(answer.Allowed ? "allowed" : "refused")} ({answer.StatusCode}): {answer.Reason}");
                foreach (JsonPatchOperation p in answer.Patch)
                {
                    streams.Out.WriteLine($"  patch: {p.Op} {p.Path}{(show ? " " + p.ValueJson : string.Empty)}");
                }
            }

            if (SnapshotInput.HasErrors(snapshot.Diagnostics))
            {
                return ExitCodes.InputError;
            }

            return answer.Allowed ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return command;
    }

    private static long Position(SourceLocation? at) => at is { } l ? ((long)l.Line << 32) | (uint)l.Column : long.MaxValue;

    /// <summary>A namespace asked for with -n that the snapshot does not have is probably a typo: say so (it is still evaluated).</summary>
    private static void WarnUnknownNamespaces(CliStreams streams, ClusterSnapshot snapshot, IEnumerable<string> namespaces)
    {
        foreach (string ns in namespaces)
        {
            if (snapshot.GetNamespace(ns) is null)
            {
                // A Diagnostic prints input text safely (escaped), however odd the name given.
                streams.Error.WriteLine(new Diagnostic("namespace-not-in-snapshot", DiagnosticSeverity.Warning,
                    "the snapshot has no such namespace (a typo?); it is evaluated as an existing namespace without labels or Secrets")
                { Subject = new ObjectReference("Namespace", null, ns), Field = "-n" }.ToString());
            }
        }
    }

    private static Option<string> ViewOption()
    {
        var view = new Option<string>("--view")
        {
            Description = "converged (default): once propagation has caught up, where the documented precedence holds; as-is: what the controller reads right now.",
            DefaultValueFactory = _ => "converged",
        };
        view.AcceptOnlyFromAmong("converged", "as-is");
        return view;
    }

    private static EvaluationView ParseView(string text) => text == "as-is" ? EvaluationView.AsIs : EvaluationView.Converged;

    private static string ViewName(EvaluationView view) => view == EvaluationView.AsIs ? "as-is" : "converged";

    private static string Op(PlanOperation op) => op switch { PlanOperation.Create => "create", PlanOperation.Update => "update", _ => "delete" };

    private static string Cell(string? value) => value is null ? "-" : value.Length == 0 ? "\"\"" : value;

    internal static JsonNode ResolutionJson(NamespaceResolution n) => new JsonObject
    {
        ["namespace"] = n.Namespace,
        ["source"] = PolicyNames.Of(n.Source),
        ["secret"] = n.Secret is { } s ? new JsonObject { ["namespace"] = s.Namespace, ["name"] = s.Name } : null,
        ["pushAddress"] = n.PushAddress,
        ["pullAddress"] = n.PullAddress,
        ["registryAddress"] = n.RegistryAddress,
        ["serverAddress"] = n.ServerAddress,
        ["username"] = n.Username,
        ["credentialFingerprint"] = n.CredentialFingerprint,
        ["reason"] = n.Secret is { } secret ? $"Secret {secret}: {n.Reason}" : n.Reason,
    };

    internal static JsonArray DiagnosticsJson(IEnumerable<Diagnostic> diagnostics) => new([.. diagnostics.Select(d => (JsonNode)new JsonObject
    {
        ["severity"] = d.Severity.ToString().ToLowerInvariant(),
        ["code"] = d.Code,
        ["message"] = d.Message,
        ["object"] = d.Subject?.ToString(),
        ["field"] = d.Field,
        ["location"] = d.Location?.ToString(),
    })]);

    private static JsonObject Manifest(SecretObject secret, bool show) =>
        secret.ToManifest(new ManifestOptions { RevealSecrets = show, HiddenValue = SecretsHidden });

    private static void WriteManifests(TextWriter output, PropagationPlan plan, bool show)
    {
        var text = new StringBuilder();
        if (!show)
        {
            text.AppendLine("# data and annotations are left out because they hold credentials; pass --show-secrets to include them.");
        }

        foreach (PlanAction action in plan.Actions)
        {
            text.Append("# ").AppendLine(Comment($"{Op(action.Operation)} {action.Secret}: {action.Reason}"));
            if (action.Desired is { } desired && action.Operation != PlanOperation.Delete)
            {
                var writer = new StringWriter();
                StructuredOutput.WriteYaml(writer, Manifest(desired, show));
                text.AppendLine("---").Append(writer.ToString());
            }
            else
            {
                text.Append("# run: ").AppendLine(Comment(action.ToKubectlCommand()!));
            }
        }

        foreach (Resolution.ServiceAccountPatch patch in plan.ServiceAccountPatches)
        {
            // A ServiceAccount is patched, not applied: applying a partial manifest would replace its imagePullSecrets.
            text.Append("# ").AppendLine(Comment(patch.ToString()));
            text.Append("# run: ").AppendLine(Comment(patch.ToKubectlCommand()));
        }

        output.Write(text.ToString());
    }

    /// <summary>Text for a YAML comment: nothing in it may end the line (YAML 1.1 also breaks lines at NEL, LS and PS).</summary>
    private static string Comment(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            builder.Append(c < 0x20 || c is '\u0085' or '\u2028' or '\u2029' or '\u007f' ? ' ' : c);
        }

        return builder.ToString();
    }
}
