using System.CommandLine;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Cli;

/// <summary><c>registry-policy swap</c>: image-swap rewrites, streaming.</summary>
internal static class SwapCommands
{
    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var mapFile = new Option<string?>("--map-file") { Description = "An imageswap-webhook map file (one 'key::value' per line).", HelpName = "file" };
        var mirrors = new Option<string?>("--mirror-registries")
        {
            Description = "Palette's MIRROR_REGISTRIES: a comma-separated list of map lines; 'default::' is implied, so unlisted registries are left alone.",
            HelpName = "list",
        };
        var dialect = new Option<string>("--dialect") { Description = "imageswap (default): imageswap-webhook v1.5.3, quirks included.", DefaultValueFactory = _ => "imageswap" };
        dialect.AcceptOnlyFromAmong("imageswap");
        var legacy = new Option<string?>("--legacy-prefix") { Description = "Upstream's deprecated LEGACY mode with this IMAGE_PREFIX instead of the map rules.", HelpName = "prefix" };
        Option<string> output = OutputFormat.Create("text", "text", "json");
        var images = new Argument<string[]>("image") { Description = "Images to rewrite; with none, one per line from standard input.", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("swap",
            "Rewrite images as an image-swap admission webhook does (imageswap-webhook v1.5.3, the format Spectro Cloud Palette uses). " +
            "Streams: one output line per input line, in order. Map problems (lines upstream skips or misreads) go to stderr with their line numbers. " +
            "Exit 0, 1 when the map file cannot be read or has a skipped line, 2 on usage errors.")
        {
            mapFile, mirrors, dialect, legacy, output, images,
        };
        examples[command] = """
              registry-policy swap --map-file maps.conf nginx:1.25 quay.io/org/app:1
              kubectl get pods -A -o jsonpath='{..image}' | tr ' ' '\n' | registry-policy swap --map-file maps.conf -o json
              registry-policy swap --mirror-registries 'docker.io::harbor.example.org/airgap/docker.io,gcr.io::harbor.example.org/airgap/gcr.io' nginx
              registry-policy swap --map-file maps.conf --legacy-prefix registry.example.com/mirror paulbouwer/hello-kubernetes:1.5
            """;
        command.SetAction(result =>
        {
            string? file = result.GetValue(mapFile);
            string? list = result.GetValue(mirrors);
            if ((file is null) == (list is null))
            {
                throw new UsageException("give exactly one of --map-file and --mirror-registries");
            }

            ImageSwapMap map;
            if (file is not null)
            {
                string text;
                try
                {
                    text = File.ReadAllText(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new InputException($"{file}: cannot read the file: {e.Message}");
                }

                map = ImageSwapMap.Parse(text, file);
            }
            else
            {
                map = ImageSwapMap.ParseMirrorRegistries(list!);
            }

            DiagnosticOutput.WriteText(streams.Error, map.Diagnostics);
            var swapper = new ImageSwapper(map, new ImageSwapOptions { LegacyPrefix = result.GetValue(legacy) });
            string[] given = result.GetValue(images) ?? [];
            IEnumerable<string> inputs = given.Length > 0 ? given : InputLines.Read(streams.In);
            bool json = result.GetValue(output) == "json";
            var writer = new JsonLineWriter(streams.Out);
            foreach (string image in inputs)
            {
                SwapResult swap = swapper.Rewrite(image);
                if (json)
                {
                    writer.StartObject();
                    writer.String("image", swap.Image);
                    writer.String("result", swap.Result);
                    writer.Boolean("swapped", swap.Swapped);
                    writer.String("rule", RuleName(swap.Rule));
                    writer.String("key", swap.Key);
                    writer.EndObject();
                    writer.EndLine();
                }
                else
                {
                    streams.Out.Write(swap.Result);
                    streams.Out.Write('\n');
                }

                if (swap.Rule == SwapRule.UpstreamError)
                {
                    streams.Error.WriteLine($"error upstream-crash: {swap.Image}: '{swap.Key}' is defined without its plain registry key; imageswap-webhook fails this request (HTTP 500) and the pod is refused. Left unchanged here.");
                }
            }

            return map.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error) ? ExitCodes.InputError : ExitCodes.Ok;
        });
        return command;
    }

    internal static string RuleName(SwapRule rule) => rule switch
    {
        SwapRule.Exact => "exact",
        SwapRule.Replace => "replace",
        SwapRule.NoDefault => "no-default",
        SwapRule.Registry => "registry",
        SwapRule.NoSwapWildcard => "noswap-wildcard",
        SwapRule.Default => "default",
        SwapRule.Legacy => "legacy",
        _ => "upstream-error",
    };
}
