using System.CommandLine;
using RegistryPolicy.Policies;

namespace RegistryPolicy.Cli;

/// <summary><c>registry-policy policy list|show|validate|schema</c>.</summary>
internal static class PolicyCommands
{
    private static readonly string[] ListHeader = ["NAME", "DESCRIPTION"];

    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var command = new Command("policy", "Work with policy documents: list and print the built-in presets, validate a document, print the JSON Schema.");
        examples[command] = """
              registry-policy policy list
              registry-policy policy show kyma-serverless > my-policy.yaml
              registry-policy policy show kyma-serverless > my-policy.yaml && registry-policy policy validate my-policy.yaml
              registry-policy policy schema > registrypolicy.schema.json
            """;

        var list = new Command("list", "List the built-in policies with a one-line description.");
        examples[list] = "  registry-policy policy list\n";
        list.SetAction(_ =>
        {
            var rows = new List<string[]> { ListHeader };
            foreach (string name in PolicyPresets.Names)
            {
                PolicyPresets.TryGet(name, out CompiledPolicy? policy);
                string description = policy!.Document.Metadata.Description ?? string.Empty;
                int stop = description.IndexOf(". ", StringComparison.Ordinal);
                rows.Add([name + (name == PolicyPresets.DefaultName ? " (default)" : string.Empty), stop > 0 ? description[..(stop + 1)] : description]);
            }

            Table.Write(streams.Out, rows);
            return ExitCodes.Ok;
        });

        var name = new Argument<string>("name") { Description = "The preset's name (see 'policy list'), or a policy file to print as JSON (-o json)." };
        Option<string> format = OutputFormat.Create("yaml", "yaml", "json");
        var show = new Command("show", "Print a built-in policy as a document you can copy and change (YAML, as shipped, or JSON).") { name, format };
        examples[show] = """
              registry-policy policy show kyma-serverless
              registry-policy policy show kyma-serverless-module -o json
              registry-policy policy show kyma-serverless > my-policy.yaml && registry-policy policy show my-policy.yaml -o json > my-policy.json
            """;
        show.SetAction(result =>
        {
            string preset = result.GetValue(name)!;
            if (!PolicyPresets.TryGet(preset, out _) && (File.Exists(preset) || preset == "-"))
            {
                string fileText = CliFiles.ReadText(preset, "policy show", streams);
                PolicyLoadResult result2 = PolicyLoader.Load(fileText, preset);
                var problems = result2.Diagnostics;
                if (result2.Policy is not { } loaded)
                {
                    foreach (var problem in problems)
                    {
                        streams.Error.WriteLine(problem.ToString());
                    }

                    return ExitCodes.InputError;
                }

                streams.Out.Write(result.GetValue(format) == "json" ? PolicySchema.ToJson(loaded.Document) + "\n" : fileText);
                return ExitCodes.Ok;
            }

            if (!PolicyPresets.TryGetText(preset, out string? text) || !PolicyPresets.TryGet(preset, out CompiledPolicy? policy))
            {
                throw new UsageException($"there is no preset '{preset}'; the presets are: {string.Join(", ", PolicyPresets.Names)}");
            }

            streams.Out.Write(result.GetValue(format) == "json" ? PolicySchema.ToJson(policy.Document) + "\n" : text);
            return ExitCodes.Ok;
        });

        var file = new Argument<string>("file") { Description = "The policy document (YAML or JSON)." };
        var validate = new Command("validate",
            "Check a policy document strictly: unknown fields, wrong types, bad values, duplicate names, selectors that can never match. " +
            "Every problem is reported with line, column and the fix. Exit 0 valid (warnings allowed), 1 errors.") { file };
        examples[validate] = "  registry-policy policy show kyma-serverless > my-policy.yaml && registry-policy policy validate my-policy.yaml\n";
        validate.SetAction(result =>
        {
            string path = result.GetValue(file)!;
            string text = CliFiles.ReadText(path, "policy validate", streams);
            PolicyLoadResult loaded = PolicyLoader.Load(text, path);
            bool ok = !loaded.HasErrors;
            CompiledPolicy? policy = loaded.Policy;
            var diagnostics = loaded.Diagnostics;
            DiagnosticOutput.WriteText(streams.Error, diagnostics);
            if (!ok)
            {
                streams.Out.WriteLine($"{path}: invalid ({diagnostics.Count(d => d.Severity == Diagnostics.DiagnosticSeverity.Error)} error(s))");
                return ExitCodes.InputError;
            }

            streams.Out.WriteLine($"{path}: valid policy '{policy!.Name}'");
            return ExitCodes.Ok;
        });

        var schema = new Command("schema", "Print the JSON Schema of policy documents (generated from the model; also shipped as docs/registrypolicy.schema.json).");
        examples[schema] = "  registry-policy policy schema > registrypolicy.schema.json\n";
        schema.SetAction(_ =>
        {
            streams.Out.WriteLine(PolicySchema.Generate());
            return ExitCodes.Ok;
        });

        var fileA = new Argument<string>("a") { Description = "One policy document." };
        var fileB = new Argument<string>("b") { Description = "The other policy document." };
        var maxNamespaces = new Option<int>("--max-namespaces") { Description = "Namespaces besides the base namespaces (default 2).", DefaultValueFactory = _ => 2 };
        var maxSecrets = new Option<int>("--max-secrets") { Description = "The most Secrets per snapshot (default 2).", DefaultValueFactory = _ => 2 };
        foreach (Option<int> bound in new[] { maxNamespaces, maxSecrets })
        {
            // The search grows exponentially with these bounds: refuse what cannot be meant before it starts.
            // The token is checked as text first: asking for an int the parser could not make throws instead of reporting.
            bound.Validators.Add(r =>
            {
                string? text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : null;
                if (text is not null && !int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                {
                    r.AddError($"{bound.Name} takes a whole number between 0 and 6; got '{text}'");
                    return;
                }

                int value = r.GetValueOrDefault<int>();
                if (value is < 0 or > 6)
                {
                    r.AddError($"{bound.Name} must be between 0 and 6 (the search grows exponentially with it); got {value}");
                }
            });
        }

        var diff = new Command("diff",
            "Do two policies ever disagree? Searches small snapshots built from the values both mention, smallest first, and prints the smallest " +
            "counterexample as a snapshot (YAML you can feed to 'resolve' and 'explain'), or 'no difference found within' the bounds searched. " +
            "Exit 0 when none is found, 3 when one is.") { fileA, fileB, maxNamespaces, maxSecrets };
        examples[diff] = """
              registry-policy policy show kyma-serverless > current.yaml && registry-policy policy show kyma-serverless-module > proposed.yaml && registry-policy policy diff current.yaml proposed.yaml
              registry-policy policy diff current.yaml proposed.yaml --max-secrets 3 > counterexample.yaml; [ $? -eq 3 ] && registry-policy resolve -f counterexample.yaml --policy proposed.yaml
            """;
        diff.SetAction(result =>
        {
            CompiledPolicy a = Load(result.GetValue(fileA)!), b = Load(result.GetValue(fileB)!);
            var search = WhatIf.WhatIfEngine.FindPolicyDifference(a, b, new WhatIf.DifferenceSearchOptions
            {
                MaxNamespaces = result.GetValue(maxNamespaces),
                MaxSecrets = result.GetValue(maxSecrets),
            });
            if (!search.Found)
            {
                streams.Out.WriteLine($"# no difference found within {search.Bounds}; {search.SnapshotsTried} snapshots tried");
                return ExitCodes.Ok;
            }

            streams.Out.WriteLine($"# '{a.Name}' and '{b.Name}' disagree on this snapshot ({search.SnapshotsTried} snapshots tried):");
            foreach (WhatIf.NamespaceChange change in search.Diff!.Namespaces)
            {
                streams.Out.WriteLine($"#   {change.Namespace}: {string.Join(", ", change.Changed)}: {Policies.PolicyNames.Of(change.Before.Source)} {change.Before.Secret} vs {Policies.PolicyNames.Of(change.After.Source)} {change.After.Secret}");
            }

            foreach (WhatIf.PlanChange change in search.Diff.Plan)
            {
                streams.Out.WriteLine($"#   plan: only '{(change.Appears ? b.Name : a.Name)}' would {change.Action.ToString().ReplaceLineEndings(" ")}");
            }

            foreach (WhatIf.LinkChange change in search.Diff.Links)
            {
                streams.Out.WriteLine($"#   plan: only '{(change.Appears ? b.Name : a.Name)}' would {change}");
            }

            foreach (Snapshots.KubeObject o in search.Counterexample!.Objects)
            {
                streams.Out.WriteLine("---");
                StructuredOutput.WriteYaml(streams.Out, Manifest(o));
            }

            return ExitCodes.Refused;
        });

        command.Add(list);
        command.Add(show);
        command.Add(validate);
        command.Add(schema);
        command.Add(diff);
        return command;

        CompiledPolicy Load(string path)
        {
            string text = CliFiles.ReadText(path, "policy diff", streams);

            PolicyLoadResult loaded = PolicyLoader.Load(text, path);
            var diagnostics = loaded.Diagnostics;
            if (loaded.Policy is not { } policy)
            {
                DiagnosticOutput.WriteText(streams.Error, diagnostics);
                throw new InputException($"{path}: the policy has errors (listed above)");
            }

            return policy;
        }
    }

    // The search makes up every value: nothing here is a credential.
    private static System.Text.Json.Nodes.JsonObject Manifest(Snapshots.KubeObject o) => o.ToManifest(new Snapshots.ManifestOptions { RevealSecrets = true });
}
