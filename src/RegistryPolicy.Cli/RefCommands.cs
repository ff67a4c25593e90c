using System.CommandLine;
using RegistryPolicy.References;

namespace RegistryPolicy.Cli;

/// <summary><c>registry-policy ref parse|normalize</c>: image references as distribution/reference reads them.</summary>
internal static class RefCommands
{
    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var command = new Command("ref", "Parse and normalise container image references exactly as Docker, containerd and the kubelet do.");
        examples[command] = """
              registry-policy ref normalize nginx            # docker.io/library/nginx
              registry-policy ref parse localhost:5000/app:1  # localhost:5000/app:1
            """;
        command.Add(BuildOne("parse", normalize: false, streams, examples));
        command.Add(BuildOne("normalize", normalize: true, streams, examples));
        return command;
    }

    private static Command BuildOne(string name, bool normalize, CliStreams streams, Dictionary<Command, string> examples)
    {
        var references = new Argument<string[]>("REF")
        {
            Description = "References to read. With none, references are read from standard input, one per line, exactly as given.",
            Arity = ArgumentArity.ZeroOrMore,
        };

        // No reference starts with '-', so such a token is a mistyped option, not an input to report as invalid.
        references.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (token.Value.StartsWith('-'))
                {
                    result.AddError($"Unrecognized option '{token.Value}'.");
                }
            }
        });
        Option<string> output = OutputFormat.Create("text", "text", "json");
        var defaultTag = new Option<bool>("--default-tag")
        {
            Description = "Add ':latest' when a reference has neither tag nor digest (upstream TagNameOnly).",
        };

        var command = new Command(
            name,
            normalize
                ? "Normalise references as 'docker pull' and the kubelet do (ParseNormalizedNamed): 'nginx' becomes 'docker.io/library/nginx'. " +
                  "Prints one line per input, in order; an invalid input prints 'error: <code>: <message>'. Exit code 0 even when some inputs are invalid."
                : "Check references against the grammar without normalising them (reference.Parse) and print their canonical form. " +
                  "Prints one line per input, in order; an invalid input prints 'error: <code>: <message>'. Exit code 0 even when some inputs are invalid.")
        {
            references,
            output,
        };
        if (normalize)
        {
            command.Add(defaultTag);
        }

        examples[command] = normalize
            ? """
                registry-policy ref normalize nginx:1.25 quay.io/org/app
                registry-policy ref normalize --default-tag < samples/images.txt > normalized.txt
                registry-policy ref normalize -o json index.docker.io/foo
              """
            : """
                registry-policy ref parse registry.example.com:5000/team/app:v1
                kubectl get pods -A -o jsonpath='{..image}' | tr ' ' '\n' | registry-policy ref parse -o json
              """;

        command.SetAction(result =>
        {
            string[] given = result.GetValue(references) ?? [];
            IEnumerable<string> inputs = given.Length > 0 ? given : InputLines.Read(streams.In);
            bool json = result.GetValue(output) == "json";
            bool addTag = normalize && result.GetValue(defaultTag);
            var writer = new JsonLineWriter(streams.Out);
            foreach (string input in inputs)
            {
                bool ok = normalize
                    ? (addTag ? ImageReference.TryParseNormalizedWithDefaultTag(input, out ImageReference reference, out ReferenceError error) : ImageReference.TryParseNormalized(input, out reference, out error))
                    : ImageReference.TryParse(input, out reference, out error);

                if (json)
                {
                    WriteJson(writer, input, ok, reference, error, normalize);
                }
                else if (ok)
                {
                    streams.Out.Write(reference.ToString());
                    streams.Out.Write('\n');
                }
                else
                {
                    streams.Out.Write("error: ");
                    streams.Out.Write(error.Code);
                    streams.Out.Write(": ");
                    streams.Out.Write(error.Message);
                    streams.Out.Write('\n');
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteJson(JsonLineWriter writer, string input, bool ok, ImageReference reference, ReferenceError error, bool normalize)
    {
        writer.StartObject();
        writer.String("input", input);
        writer.String("domain", ok ? reference.Domain : null);
        writer.String("path", ok ? reference.Path : null);
        writer.String("tag", ok ? reference.Tag : null);
        writer.String("digest", ok ? reference.Digest : null);
        if (normalize)
        {
            writer.String("normalized", ok ? reference.ToString() : null);
            writer.String("familiar", ok ? reference.ToFamiliarString() : null);
        }

        if (ok)
        {
            writer.Null("error");
        }
        else
        {
            writer.StartObject("error");
            writer.String("code", error.Code);
            writer.String("message", error.Message);
            writer.EndObject();
        }

        writer.EndObject();
        writer.EndLine();
    }
}
