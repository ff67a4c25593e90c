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
    private static readonly string[] TableHeader = ["NAMESPACE", "SOURCE", "PUSH", "REBUILD"];

    private static readonly string[] WideHeader = ["NAMESPACE", "CHANGED", "BEFORE", "AFTER", "USERNAME", "CREDENTIAL", "REBUILD"];

    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var before = new Option<string[]>("--before") { Description = "The snapshot now (files or directories), or --kubeconfig to read it from the cluster.", AllowMultipleArgumentsPerToken = true, HelpName = "file" };
        var after = new Option<string[]>("--after") { Description = "The snapshot after the change (default: the same as --before).", AllowMultipleArgumentsPerToken = true, HelpName = "file" };
        Option<string?> policy = SnapshotInput.PolicyOption();
        Option<string?> preset = SnapshotInput.PresetOption();
        var policyAfter = new Option<string?>("--policy-after") { Description = "The policy after the change (default: the same as before).", HelpName = "file" };
        var presetAfter = new Option<string?>("--preset-after") { Description = "A built-in policy after the change, for example kyma-serverless-module.", HelpName = "name" };
        Option<string> output = OutputFormat.Create("table", "table", "wide", "json", "yaml", "markdown");
        Option<bool> compact = OutputFormat.CompactOption();
        var failOnChange = new Option<bool>("--fail-on-change") { Description = "Exit 3 when anything changes (for CI)." };
        var changes = new Option<string?>("--changes")
        {
            Description = "A change document (put/delete objects, set/remove labels and data keys) applied to the after snapshot, without editing files.",
            HelpName = "file",
        };
        var command = new Command("whatif",
            "What changes between two snapshots, two policies, or both: per namespace the resolution fields that change (with both traces), " +
            "whether Functions must be rebuilt, the propagation actions and ServiceAccount links that appear or disappear, and containers whose rewritten image or pull credential changes. " +
            "--kubeconfig reads the snapshot now from the cluster (read-only) instead of --before. " +
            "Exit 0 (changes or not), 3 with --fail-on-change when something changes, 1 on input errors, 2 on usage errors.")
        {
            before, after, policy, preset, policyAfter, presetAfter, changes, output, compact, failOnChange,
        };
        var live = new LiveInput("--before");
        live.AddTo(command);
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
            // The cluster now: a dump, or (--kubeconfig) the live cluster, read-only; --after and --changes describe the change.
            ClusterSnapshot snapshotBefore = live.Load(result, before, streams);
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
            string format = result.GetValue(output)!;
            // Namespaces shielded by the user keep their credential whatever the base Secrets do: named in the notes.
            string[] userManaged = [.. PolicyEngine.Evaluate(policyAfterValue, snapshotAfter).Namespaces.Where(n => n.Source == ResolutionSource.UserManaged).Select(n => n.Namespace)];
            switch (format)
            {
                case "json" or "yaml":
                    StructuredOutput.Write(streams.Out, Json(diff, policyAfterValue, userManaged), format, result.GetValue(compact));
                    break;
                case "markdown":
                    streams.Out.Write(Markdown(diff, policyBefore.Name, policyAfterValue.Name, policyAfterValue, userManaged));
                    break;
                default:
                    WriteTable(streams.Out, diff, policyAfterValue, format == "wide", userManaged);
                    break;
            }

            bool inputErrors = SnapshotInput.HasErrors(snapshotBefore.Diagnostics) || SnapshotInput.HasErrors(snapshotAfter.Diagnostics);
            return inputErrors ? ExitCodes.InputError : diff.IsEmpty || !result.GetValue(failOnChange) ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return command;
    }

    private static void WriteTable(TextWriter output, OutcomeDiff diff, CompiledPolicy policy, bool wide, IReadOnlyList<string> userManaged)
    {
        if (diff.IsEmpty)
        {
            output.WriteLine("No change.");
            return;
        }

        if (!diff.Namespaces.IsEmpty)
        {
            var rows = new List<string[]> { wide ? WideHeader : TableHeader };
            rows.AddRange(diff.Namespaces.Select(n => wide
                ? new[]
                {
                    n.Namespace, string.Join(",", n.Changed), Summary(n.Before), Summary(n.After), Arrow(n.Before.Username, n.After.Username),
                    Arrow(n.Before.CredentialFingerprint, n.After.CredentialFingerprint), RebuildCell(n),
                }
                : [n.Namespace, Arrow(PolicyNames.Of(n.Before.Source), PolicyNames.Of(n.After.Source)), Arrow(n.Before.PushAddress, n.After.PushAddress), RebuildCell(n)]));
            Table.Write(output, rows);
            foreach (NamespaceChange n in diff.Namespaces)
            {
                if (Fix(n, policy) is { } fix)
                {
                    output.WriteLine($"fix {Table.Cell(n.Namespace)}: {Table.Cell(fix)}");
                }
            }
        }

        foreach (string line in PlanLines(diff))
        {
            output.WriteLine("plan " + Table.Cell(line));
        }

        foreach (LinkChange change in diff.Links)
        {
            output.WriteLine($"plan {(change.Appears ? "+" : "-")} {Table.Cell(change.ToString())}");
        }

        foreach (ImageChange change in diff.Images)
        {
            output.WriteLine(Table.Cell(ImageLine(change)));
        }

        foreach (string note in Notes(diff, policy, userManaged))
        {
            output.WriteLine("note: " + Table.Cell(note));
        }
    }

    /// <summary>A command line that runs exactly these words in a POSIX shell (anything unusual single-quoted).</summary>
    internal static string Shell(IEnumerable<string> words) => string.Join(' ', words.Select(w =>
        w.Length > 0 && w.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '/' or '=' or ':' or '-' or '@' or '+' or ',')
            ? w
            : "'" + w.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));

    private static string Arrow(string? before, string? after)
    {
        string b = string.IsNullOrEmpty(before) ? "-" : before, a = string.IsNullOrEmpty(after) ? "-" : after;
        return b == a ? a : $"{b} -> {a}";
    }

    /// <summary>"yes: fn-a, fn-b", "push changes; no Functions", or "no".</summary>
    private static string RebuildCell(NamespaceChange n) =>
        !n.Rebuild ? "no"
        : n.Functions.IsEmpty ? "no Functions to rebuild"
        : "yes: " + string.Join(", ", n.Functions.Take(5)) + (n.Functions.Length > 5 ? $" (+{n.Functions.Length - 5})" : "");

    /// <summary>
    /// What keeps a namespace as it was, where the policy has a way: a namespace whose own Secret a cluster-wide one would
    /// replace keeps it when labelled with the rule's shield labels (Kyma: managed-by=user).
    /// </summary>
    private static string? Fix(NamespaceChange n, CompiledPolicy policy)
    {
        if (n.Before.Source == ResolutionSource.Namespace && n.After.Source == ResolutionSource.ClusterWide && n.Before.Secret is { } own)
        {
            foreach (PropagationRule rule in policy.Document.Spec.Propagation)
            {
                if (rule.Shield is { MatchLabels.Count: > 0 } shield)
                {
                    string[] labels = [.. shield.MatchLabels.Select(l => $"{l.Key}={l.Value}")];
                    return $"to keep its own registry, label its Secret {own.Name} {string.Join(" ", labels)}: " +
                        Shell(["kubectl", "label", "-n", own.Namespace, "secret", own.Name, .. labels]);
                }
            }
        }

        if (n.Before.Source is ResolutionSource.Namespace or ResolutionSource.UserManaged && n.After.Source != n.Before.Source && n.Before.Secret is { } kept &&
            n.After.Secret is { } replacement && kept.Name != replacement.Name)
        {
            string shieldText = policy.Document.Spec.Propagation.FirstOrDefault(r => r.Shield is { MatchLabels.Count: > 0 })?.Shield is { } s
                ? $" and label it {string.Join(" ", s.MatchLabels.Select(l => $"{l.Key}={l.Value}"))} (the policy after leaves such a copy alone)"
                : "";
            return $"the policy after no longer reads {kept.Name}; to keep this namespace's registry, give {replacement.Namespace}/{replacement.Name} the content of {kept.Name}{shieldText}";
        }

        return null;
    }

    /// <summary>Plan changes, with an action whose copy merely changes content shown as one change rather than a removal and an addition.</summary>
    private static List<string> PlanLines(OutcomeDiff diff)
    {
        var lines = new List<string>();
        var byTarget = diff.Plan.ToLookup(p => (p.Action.Operation, p.Action.Secret));
        foreach (var group in byTarget)
        {
            PlanChange? gone = group.FirstOrDefault(p => !p.Appears), added = group.FirstOrDefault(p => p.Appears);
            if (gone is not null && added is not null)
            {
                lines.Add($"~ {added.Action.Operation.ToString().ToLowerInvariant()} {added.Action.Secret}: the copy's content changes ({added.Action.Reason})");
            }
            else
            {
                PlanChange only = (gone ?? added)!;
                lines.Add($"{(only.Appears ? "+" : "-")} {only.Action}");
            }
        }

        return lines;
    }

    /// <summary>Namespaces that keep the old credential, and where the documentation and the controller disagree.</summary>
    private static List<string> Notes(OutcomeDiff diff, CompiledPolicy policy, IReadOnlyList<string> userManaged)
    {
        var notes = new List<string>();
        if (diff.Namespaces.Any(n => n.After.Source is ResolutionSource.ClusterWide or ResolutionSource.Default && n.Changed.Contains("credentialFingerprint")))
        {
            string[] shielded = [.. userManaged.Where(ns => !diff.Namespaces.Any(n => n.Namespace == ns))];
            if (shielded.Length > 0)
            {
                notes.Add($"keep their old credential (managed by the user): {string.Join(", ", shielded)}");
            }
        }

        if (policy.Document.Spec.Rebuild is { } rebuild)
        {
            string[] silent = [.. diff.Namespaces.Where(n => !n.Rebuild && n.Changed.Any(c => c is not ("source" or "secret"))).Select(n => n.Namespace)];
            if (silent.Length > 0)
            {
                notes.Add($"Kyma's documentation says Functions are rebuilt when the registry Secret changes; the function-controller rebuilds only on a change of " +
                    $"{string.Join(", ", rebuild.OnChange.Select(f => char.ToLowerInvariant(f.ToString()[0]) + f.ToString()[1..]))}, so the Functions of {string.Join(", ", silent)} keep their images until they are rebuilt for another reason");
            }
        }

        return notes;
    }

    private static string Summary(NamespaceResolution r) =>
        $"{PolicyNames.Of(r.Source)}{(r.Secret is { } s ? " " + s.Name : "")} push={(string.IsNullOrEmpty(r.PushAddress) ? "-" : r.PushAddress)}";

    private static JsonObject Json(OutcomeDiff diff, CompiledPolicy policy, IReadOnlyList<string> userManaged) => new()
    {
        ["namespaces"] = new JsonArray([.. diff.Namespaces.Select(n => (JsonNode)new JsonObject
        {
            ["namespace"] = n.Namespace,
            ["before"] = ResolutionCommands.ResolutionJson(n.Before),
            ["after"] = ResolutionCommands.ResolutionJson(n.After),
            ["changed"] = new JsonArray([.. n.Changed.Select(c => (JsonNode)c)]),
            ["rebuild"] = n.Rebuild,
            ["functions"] = new JsonArray([.. n.Functions.Select(f => (JsonNode)f)]),
            ["fix"] = Fix(n, policy),
        })]),
        ["planChanges"] = new JsonArray([.. PlanLines(diff).Select(l => (JsonNode)l)]),
        ["notes"] = new JsonArray([.. Notes(diff, policy, userManaged).Select(l => (JsonNode)l)]),
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

    private static string Markdown(OutcomeDiff diff, string policyBefore, string policyAfter, CompiledPolicy policy, IReadOnlyList<string> userManaged)
    {
        var text = new StringBuilder();
        text.Append("### registry-policy what-if").Append(policyBefore == policyAfter ? $" (`{policyBefore}`)" : $" (`{policyBefore}` → `{policyAfter}`)").Append("\n\n");
        if (diff.IsEmpty)
        {
            return text.Append("No change.\n").ToString();
        }

        if (!diff.Namespaces.IsEmpty)
        {
            text.Append("| Namespace | Changed | Before | After | Rebuild | Fix |\n| --- | --- | --- | --- | --- | --- |\n");
            foreach (NamespaceChange n in diff.Namespaces)
            {
                string rebuild = RebuildCell(n);
                text.Append($"| `{n.Namespace}` | {string.Join(", ", n.Changed)} | {Cell(Summary(n.Before))} | {Cell(Summary(n.After))} | {(n.Rebuild && !n.Functions.IsEmpty ? "**" + Cell(rebuild) + "**" : Cell(rebuild))} | {Cell(Fix(n, policy) ?? "")} |\n");
            }

            text.Append('\n');
            foreach (string note in Notes(diff, policy, userManaged))
            {
                text.Append("> ").Append(Cell(note)).Append("\n\n");
            }
        }

        if (!diff.Plan.IsEmpty)
        {
            text.Append("<details><summary>").Append(PlanLines(diff).Count).Append(" propagation action(s) change</summary>\n\n");
            foreach (string line in PlanLines(diff))
            {
                // "- - create" would render as a nested list: say it in words.
                string said = line[0] switch { '+' => "now: ", '-' => "no longer: ", _ => "changes: " } + line[2..];
                text.Append("- ").Append(Cell(said)).Append('\n');
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
