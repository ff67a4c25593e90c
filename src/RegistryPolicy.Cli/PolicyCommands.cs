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
              registry-policy policy validate my-policy.yaml
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

        var name = new Argument<string>("name") { Description = "The preset's name (see 'policy list')." };
        Option<string> format = OutputFormat.Create("yaml", "yaml", "json");
        var show = new Command("show", "Print a built-in policy as a document you can copy and change (YAML, as shipped, or JSON).") { name, format };
        examples[show] = """
              registry-policy policy show kyma-serverless
              registry-policy policy show kyma-serverless-module -o json
            """;
        show.SetAction(result =>
        {
            string preset = result.GetValue(name)!;
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
        examples[validate] = "  registry-policy policy validate my-policy.yaml\n";
        validate.SetAction(result =>
        {
            string path = result.GetValue(file)!;
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InputException($"{path}: cannot read the file: {e.Message}");
            }

            bool ok = PolicyLoader.TryLoad(text, path, out CompiledPolicy? policy, out var diagnostics);
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

        command.Add(list);
        command.Add(show);
        command.Add(validate);
        command.Add(schema);
        return command;
    }
}
