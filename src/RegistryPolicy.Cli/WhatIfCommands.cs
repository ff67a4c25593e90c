using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.WhatIf;

namespace RegistryPolicy.Cli;

/// <summary><c>registry-policy whatif</c>.</summary>
internal static class WhatIfCommands
{
    private static readonly string[] TableHeader = ["NAMESPACE", "CHANGED", "BEFORE", "AFTER", "REBUILD"];

    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var before = new Option<string[]>("--before") { Description = "The snapshot now (files or directories).", Required = true, AllowMultipleArgumentsPerToken = true, HelpName = "file" };
        var after = new Option<string[]>("--after") { Description = "The snapshot after the change (default: the same as --before).", AllowMultipleArgumentsPerToken = true, HelpName = "file" };
        Option<string?> policy = SnapshotInput.PolicyOption();
        Option<string?> preset = SnapshotInput.PresetOption();
        var policyAfter = new Option<string?>("--policy-after") { Description = "The policy after the change (default: the same as before).", HelpName = "file" };
        var presetAfter = new Option<string?>("--preset-after") { Description = "A built-in policy after the change, for example kyma-serverless-module.", HelpName = "name" };
        Option<string> output = OutputFormat.Create("table", "table", "json", "markdown");
        var failOnChange = new Option<bool>("--fail-on-change") { Description = "Exit 3 when anything changes (for CI)." };
        var changes = new Option<string?>("--changes")
        {
            Description = "A change document (put/delete objects, set/remove labels and data keys) applied to the after snapshot, without editing files.",
            HelpName = "file",
        };
        var command = new Command("whatif",
            "What changes between two snapshots, two policies, or both: per namespace the resolution fields that change (with both traces), " +
            "whether Functions must be rebuilt, the propagation actions and ServiceAccount links that appear or disappear, and containers whose rewritten image or pull credential changes. " +
            "Exit 0 (changes or not), 3 with --fail-on-change when something changes, 1 on input errors, 2 on usage errors.")
        {
            before, after, policy, preset, policyAfter, presetAfter, changes, output, failOnChange,
        };
        examples[command] = """
              registry-policy whatif --before samples/kyma-cluster.yaml --after samples/kyma-cluster.yaml --after samples/cluster-wide-override.yaml
              registry-policy whatif --before samples/kyma-cluster.yaml --preset kyma-serverless --preset-after kyma-serverless-module
              registry-policy policy show kyma-serverless-module > proposed.yaml && registry-policy whatif --before samples/kyma-cluster.yaml --policy-after proposed.yaml -o markdown --fail-on-change
              registry-policy whatif --before samples/kyma-cluster.yaml --changes samples/changes-team-b-user-managed.yaml -o json
            """;
        command.SetAction(result =>
        {
            CompiledPolicy policyBefore = SnapshotInput.LoadPolicy(result.GetValue(policy), result.GetValue(preset), streams);
            CompiledPolicy policyAfterValue = result.GetValue(policyAfter) is null && result.GetValue(presetAfter) is null
                ? policyBefore
                : SnapshotInput.LoadPolicy(result.GetValue(policyAfter), result.GetValue(presetAfter), streams, "--policy-after", "--preset-after");
            ClusterSnapshot snapshotBefore = SnapshotInput.Load(result.GetValue(before)!, streams);
            string[] afterFiles = result.GetValue(after) ?? [];
            ClusterSnapshot snapshotAfter = afterFiles.Length > 0 ? SnapshotInput.Load(afterFiles, streams) : snapshotBefore;
            DiagnosticOutput.WriteText(streams.Error, snapshotBefore.Diagnostics.Concat(afterFiles.Length > 0 ? snapshotAfter.Diagnostics : []));
            if (result.GetValue(changes) is { } changeFile)
            {
                string text = CliFiles.ReadText(changeFile, "--changes", streams);

                ChangeDocument parsed = WhatIfEngine.LoadChanges(text, changeFile);
                DiagnosticOutput.WriteText(streams.Error, parsed.Diagnostics);
                if (parsed.HasErrors)
                {
                    throw new InputException($"{changeFile}: the change document has errors (listed above)");
                }

                WhatIf.ChangeResult applied = WhatIfEngine.ApplyChanges(snapshotAfter, parsed.Changes);
                DiagnosticOutput.WriteText(streams.Error, applied.Diagnostics);
                snapshotAfter = applied.Snapshot;
            }
            OutcomeDiff diff = WhatIf.WhatIfEngine.Compare(new WhatIfSide(policyBefore, snapshotBefore), new WhatIfSide(policyAfterValue, snapshotAfter));
            switch (result.GetValue(output))
            {
                case "json":
                    StructuredOutput.WriteJson(streams.Out, Json(diff));
                    break;
                case "markdown":
                    streams.Out.Write(Markdown(diff, policyBefore.Name, policyAfterValue.Name));
                    break;
                default:
                    var rows = new List<string[]> { TableHeader };
                    rows.AddRange(diff.Namespaces.Select(n => new[] { n.Namespace, string.Join(",", n.Changed), Summary(n.Before), Summary(n.After), n.Rebuild ? "yes" : "no" }));
                    Table.Write(streams.Out, rows);
                    foreach (PlanChange change in diff.Plan)
                    {
                        streams.Out.WriteLine($"plan {(change.Appears ? "+" : "-")} {change.Action}");
                    }

                    foreach (LinkChange change in diff.Links)
                    {
                        streams.Out.WriteLine($"plan {(change.Appears ? "+" : "-")} {change}");
                    }

                    foreach (ImageChange change in diff.Images)
                    {
                        streams.Out.WriteLine(ImageLine(change));
                    }

                    break;
            }

            bool inputErrors = SnapshotInput.HasErrors(snapshotBefore.Diagnostics) || SnapshotInput.HasErrors(snapshotAfter.Diagnostics);
            return inputErrors ? ExitCodes.InputError : diff.IsEmpty || !result.GetValue(failOnChange) ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return command;
    }

    private static string Summary(NamespaceResolution r) =>
        $"{PolicyNames.Of(r.Source)}{(r.Secret is { } s ? " " + s.Name : "")} push={(string.IsNullOrEmpty(r.PushAddress) ? "-" : r.PushAddress)}";

    private static JsonObject Json(OutcomeDiff diff) => new()
    {
        ["namespaces"] = new JsonArray([.. diff.Namespaces.Select(n => (JsonNode)new JsonObject
        {
            ["namespace"] = n.Namespace,
            ["before"] = ResolutionCommands.ResolutionJson(n.Before),
            ["after"] = ResolutionCommands.ResolutionJson(n.After),
            ["changed"] = new JsonArray([.. n.Changed.Select(c => (JsonNode)c)]),
            ["rebuild"] = n.Rebuild,
            ["functions"] = new JsonArray([.. n.Functions.Select(f => (JsonNode)f)]),
        })]),
        ["images"] = new JsonArray([.. diff.Images.Select(i => (JsonNode)new JsonObject
        {
            ["workload"] = i.Workload.ToString(), ["container"] = i.Container, ["image"] = i.Image, ["before"] = i.Before, ["after"] = i.After,
            ["credentialBefore"] = i.CredentialBefore, ["credentialAfter"] = i.CredentialAfter,
        })]),
        ["plan"] = new JsonObject
        {
            ["appears"] = new JsonArray([.. diff.Plan.Where(p => p.Appears).Select(p => (JsonNode)PlanJson(p.Action))]),
            ["disappears"] = new JsonArray([.. diff.Plan.Where(p => !p.Appears).Select(p => (JsonNode)PlanJson(p.Action))]),
        },
        ["links"] = new JsonObject
        {
            ["appears"] = new JsonArray([.. diff.Links.Where(l => l.Appears).Select(l => (JsonNode)LinkJson(l))]),
            ["disappears"] = new JsonArray([.. diff.Links.Where(l => !l.Appears).Select(l => (JsonNode)LinkJson(l))]),
        },
    };

    /// <summary>One line per container: the rewritten image and the credential (key and fingerprint, never the password), before and after.</summary>
    private static string ImageLine(ImageChange i)
    {
        var parts = new List<string>();
        if (i.Before != i.After)
        {
            parts.Add($"image {i.Before} -> {i.After}");
        }

        if (i.CredentialBefore != i.CredentialAfter)
        {
            parts.Add($"credential {i.CredentialBefore ?? "(none)"} -> {i.CredentialAfter ?? "(none)"}");
        }

        return $"pull {i.Workload.Kind} {i.Workload.Namespace}/{i.Workload.Name} container '{i.Container}': {string.Join("; ", parts)}";
    }

    private static JsonObject LinkJson(LinkChange l) => new()
    {
        ["serviceAccount"] = $"{l.ServiceAccount.Namespace}/{l.ServiceAccount.Name}", ["secret"] = l.Secret,
    };

    private static JsonObject PlanJson(PlanAction a) => new()
    {
        ["op"] = a.Operation.ToString().ToLowerInvariant(), ["secret"] = a.Secret.ToString(), ["rule"] = a.Rule, ["reason"] = a.Reason,
    };

    private static string Markdown(OutcomeDiff diff, string policyBefore, string policyAfter)
    {
        var text = new StringBuilder();
        text.Append("### registry-policy what-if").Append(policyBefore == policyAfter ? $" (`{policyBefore}`)" : $" (`{policyBefore}` → `{policyAfter}`)").Append("\n\n");
        if (diff.IsEmpty)
        {
            return text.Append("No change.\n").ToString();
        }

        if (!diff.Namespaces.IsEmpty)
        {
            text.Append("| Namespace | Changed | Before | After | Rebuild |\n| --- | --- | --- | --- | --- |\n");
            foreach (NamespaceChange n in diff.Namespaces)
            {
                text.Append($"| `{n.Namespace}` | {string.Join(", ", n.Changed)} | {Cell(Summary(n.Before))} | {Cell(Summary(n.After))} | {(n.Rebuild ? $"**yes** ({n.Functions.Length} Function(s))" : "no")} |\n");
            }

            text.Append('\n');
        }

        if (!diff.Plan.IsEmpty)
        {
            text.Append("<details><summary>").Append(diff.Plan.Length).Append(" propagation action(s) change</summary>\n\n");
            foreach (PlanChange p in diff.Plan)
            {
                text.Append("- ").Append(p.Appears ? "now: " : "no longer: ").Append(Cell(p.Action.ToString())).Append('\n');
            }

            text.Append("\n</details>\n");
        }

        if (!diff.Images.IsEmpty)
        {
            text.Append("<details><summary>").Append(diff.Images.Length).Append(" container(s) pull differently</summary>\n\n");
            foreach (ImageChange i in diff.Images)
            {
                text.Append("- ").Append(Cell(ImageLine(i))).Append('\n');
            }

            text.Append("\n</details>\n");
        }

        if (!diff.Links.IsEmpty)
        {
            text.Append("<details><summary>").Append(diff.Links.Length).Append(" ServiceAccount link(s) change</summary>\n\n");
            foreach (LinkChange l in diff.Links)
            {
                text.Append("- ").Append(l.Appears ? "now: " : "no longer: ").Append(Cell(l.ToString())).Append('\n');
            }

            text.Append("\n</details>\n");
        }

        return text.ToString();

        static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
    }
}
