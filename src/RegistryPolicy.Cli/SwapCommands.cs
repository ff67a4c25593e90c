using System.CommandLine;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Mirrors;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Cli;

/// <summary><c>registry-policy swap</c>: image-swap rewrites, streaming.</summary>
internal static class SwapCommands
{
    /// <summary>The resources a live <c>swap</c> lists: Pods and the workload kinds, nothing else.</summary>
    private static readonly string[] WorkloadResources = ["pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"];

    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var mapFile = new Option<string?>("--map-file") { Description = "An imageswap-webhook map file (one 'key::value' per line).", HelpName = "file" };
        var mirrors = new Option<string?>("--mirror-registries")
        {
            Description = "Palette's MIRROR_REGISTRIES: a comma-separated list of map lines; 'default::' is implied, so unlisted registries are left alone.",
            HelpName = "list",
        };
        var dialect = new Option<string>("--dialect")
        {
            Description = "imageswap (default): imageswap-webhook v1.5.3, quirks included. reference: references parsed as Docker and containerd do, path-prefix keys, per-image opt-out, library/ kept, idempotent.",
            DefaultValueFactory = _ => "imageswap",
        };
        dialect.AcceptOnlyFromAmong("imageswap", "reference");
        var legacy = new Option<string?>("--legacy-prefix") { Description = "Upstream's deprecated LEGACY mode with this IMAGE_PREFIX instead of the map rules.", HelpName = "prefix" };
        Option<string> output = OutputFormat.Create("text", "text", "json", "patch", "yaml");
        var manifests = new Option<string[]>("--filename", "-f")
        {
            Description = "Pod and workload manifests (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob): print each object's RFC 6902 patch (-o patch, one JSON line per object) or the rewritten manifests (-o yaml).",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "file",
        };
        var namespaces = new Option<string[]>("--namespace", "-n")
        {
            Description = "With -f or --kubeconfig: only these namespaces' Pods and workloads (repeatable); with --kubeconfig only they are read.",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "ns",
        };
        Names.RefuseNonNamespaces(namespaces);
        var disableLabel = new Option<string>("--disable-label") { Description = "The opt-out label; objects where it is 'disabled' are left alone.", DefaultValueFactory = _ => "k8s.twr.io/imageswap" };
        var images = new Argument<string[]>("image") { Description = "Images to rewrite; with none, one per line from standard input.", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("swap",
            "Rewrite images as an image-swap admission webhook does (imageswap-webhook v1.5.3, the format Spectro Cloud Palette uses). " +
            "Streams: one output line per input line, in order. Map problems (lines upstream skips or misreads) go to stderr with their line numbers. " +
            "With --kubeconfig, the live cluster's Pods and workloads (read-only) get one patch each (-o patch). " +
            "Exit 0, 1 when the map file cannot be read or has a skipped line, 2 on usage errors.")
        {
            mapFile, mirrors, dialect, legacy, output, manifests, disableLabel, images, namespaces,
        };
        var live = new LiveInput(namespaces: true);
        live.AddTo(command);
        examples[command] = """
              registry-policy swap --map-file samples/maps.conf nginx:1.25 quay.io/org/app:1
              kubectl get pods -A -o jsonpath='{..image}' | tr ' ' '\n' | registry-policy swap --map-file samples/maps.conf -o json
              registry-policy swap --mirror-registries 'docker.io::harbor.example.org/airgap/docker.io,gcr.io::harbor.example.org/airgap/gcr.io' nginx
              registry-policy swap --map-file samples/maps.conf --legacy-prefix registry.example.com/mirror paulbouwer/hello-kubernetes:1.5
              registry-policy swap --map-file samples/maps.conf -f samples/deployment.yaml -o patch
            """;
        command.SetAction(result =>
        {
            ImageSwapMap map = LoadMap(result.GetValue(mapFile), result.GetValue(mirrors), streams);
            DiagnosticOutput.WriteText(streams.Error, map.Diagnostics);
            var swapper = new ImageSwapper(map, new ImageSwapOptions
            {
                LegacyPrefix = result.GetValue(legacy),
                Dialect = result.GetValue(dialect) == "reference" ? SwapDialect.Reference : SwapDialect.ImageSwap,
            });
            if (result.GetValue(live.Kubeconfig) is not null)
            {
                // The Pods and workloads of the live cluster (read-only; no Secrets are listed): one patch per object.
                if (result.GetValue(output) != "patch")
                {
                    throw new UsageException("with --kubeconfig, use -o patch (one RFC 6902 patch per Pod and workload); -o yaml rewrites -f files");
                }

                if ((result.GetValue(images) ?? []).Length > 0)
                {
                    throw new UsageException("--kubeconfig rewrites the cluster's workloads: give images or --kubeconfig, not both");
                }

                Snapshots.ClusterSnapshot cluster = live.Load(result, manifests, streams, namespaces: result.GetValue(namespaces), resources: WorkloadResources);
                return Patches(streams, swapper, cluster, result.GetValue(disableLabel)!, result.GetValue(namespaces)) is var liveCode && map.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error)
                    ? ExitCodes.InputError : liveCode;
            }

            if (result.GetValue(manifests) is { Length: > 0 } files)
            {
                return Patches(streams, swapper, files, result.GetValue(disableLabel)!, result.GetValue(output)!, result.GetValue(namespaces)) is var code && map.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error)
                    ? ExitCodes.InputError : code;
            }

            if ((result.GetValue(namespaces) ?? []).Length > 0)
            {
                throw new UsageException("-n selects Pods and workloads: it needs -f MANIFEST or --kubeconfig FILE");
            }

            if (result.GetValue(output) is "patch" or "yaml")
            {
                // Without manifests there is nothing to print as YAML: the answer per image is -o text or -o json (JSON Lines).
                throw new UsageException($"-o {result.GetValue(output)} needs -f MANIFEST; for images use -o text or -o json");
            }

            string[] given = result.GetValue(images) ?? [];
            IEnumerable<string> inputs = given.Length > 0 ? given : InputLines.Read(streams.In);
            bool json = result.GetValue(output) == "json";
            var writer = new JsonLineWriter(streams.Out);
            int invalid = 0;
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
                    // valid: the result is an image reference the kubelet accepts; brokenByRewrite: a valid image the map made invalid.
                    writer.Boolean("valid", RegistryPolicy.References.ImageReference.TryParseNormalized(swap.Result, out _, out _));
                    writer.Boolean("brokenByRewrite", swap.ResultIsInvalid);
                    writer.EndObject();
                    writer.EndLine();
                }
                else
                {
                    streams.Out.Write(swap.Result);
                    streams.Out.Write('\n');
                }

                if (swap.ResultIsInvalid)
                {
                    invalid++;
                    streams.Error.WriteLine($"error invalid-rewrite: {swap.Image} -> {swap.Result}: the rewrite is not a valid image reference; the kubelet fails the pod with InvalidImageName. Fix the map (a registry with a port needs its own key), or use --dialect reference.");
                }

                if (swap.Rule == SwapRule.UpstreamError)
                {
                    streams.Error.WriteLine(swap.Key?.EndsWith("/library", StringComparison.Ordinal) == true
                        ? $"error upstream-crash: {swap.Image}: '{swap.Key}' is defined without its plain registry key; imageswap-webhook fails this request (HTTP 500) and the pod is refused. Left unchanged here."
                        : $"error upstream-crash: {swap.Image}: upstream uses the registry as a regular expression ('{swap.Key}' rule), and it is not a valid one; imageswap-webhook fails this request (HTTP 500) and the pod is refused. Left unchanged here.");
                }
            }

            return invalid > 0 || map.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error) ? ExitCodes.InputError : ExitCodes.Ok;
        });
        command.Add(BuildCheck(streams, examples));
        return command;
    }

    private static int Patches(CliStreams streams, ImageSwapper swapper, string[] files, string disableLabel, string format, string[]? namespaces)
    {
        if (format == "yaml")
        {
            if (namespaces is { Length: > 0 })
            {
                throw new UsageException("-n selects the objects of -o patch; -o yaml rewrites the files whole");
            }

            return Manifests(streams, swapper, files, disableLabel);
        }

        if (format != "patch")
        {
            throw new UsageException("with -f, use -o patch or -o yaml");
        }

        return Patches(streams, swapper, SnapshotInput.Load(files, streams), disableLabel, namespaces);
    }

    private static int Patches(CliStreams streams, ImageSwapper swapper, Snapshots.ClusterSnapshot snapshot, string disableLabel, string[]? namespaces)
    {
        DiagnosticOutput.WriteText(streams.Error, snapshot.Diagnostics);
        int invalid = 0;
        var wanted = namespaces is { Length: > 0 } ? new HashSet<string>(namespaces, StringComparer.Ordinal) : null;
        foreach (Snapshots.WorkloadObject workload in snapshot.Workloads.Where(w => wanted is null || (w.Namespace is { } ns && wanted.Contains(ns))))
        {
            var writer = new JsonLineWriter(streams.Out); // one object per line; the tail is written by hand below
            WorkloadSwap swap = swapper.RewriteWorkload(workload, new WorkloadSwapOptions { DisableLabel = disableLabel });
            writer.StartObject();
            writer.String("object", workload.Reference.ToString());
            writer.Boolean("disabled", swap.Disabled);
            writer.Boolean("swapped", swap.Swapped);
            writer.StartArray("patch");
            foreach (Primitives.JsonPatchOperation op in swap.Patch)
            {
                writer.StartObject();
                writer.String("op", op.Op);
                writer.String("path", op.Path);
                writer.Raw("value", op.ValueJson);
                writer.EndObject();
            }

            writer.EndArray();
            writer.EndObject();
            writer.EndLine();
            invalid += ReportInvalid(streams, workload.Reference, swap);
        }

        return invalid > 0 || snapshot.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error) ? ExitCodes.InputError : ExitCodes.Ok;
    }

    private static int ReportInvalid(CliStreams streams, ObjectReference workload, WorkloadSwap swap)
    {
        int invalid = 0;
        foreach (ContainerSwap container in swap.Containers)
        {
            if (container.Swap.ResultIsInvalid)
            {
                invalid++;
                streams.Error.WriteLine($"error invalid-rewrite: {workload} container '{container.Container.Name}': {container.Swap.Image} -> {container.Swap.Result} is not a valid image reference; the kubelet fails the pod with InvalidImageName.");
            }
        }

        return invalid;
    }

    /// <summary>
    /// Prints the Pods and workloads of the files as YAML, with the patch applied. Nothing else is printed: other objects
    /// are not rewritten, and a Secret among them would print its credentials.
    /// </summary>
    private static int Manifests(CliStreams streams, ImageSwapper swapper, string[] files, string disableLabel)
    {
        bool first = true, errors = false;
        int leftOut = 0, invalid = 0;
        foreach (string file in files)
        {
            ManifestSwapResult result;
            if (file == "-")
            {
                result = swapper.RewriteManifests(streams.InStream(), "<stdin>", new WorkloadSwapOptions { DisableLabel = disableLabel });
            }
            else
            {
                using FileStream stream = CliFiles.Open(file, "-f");
                result = swapper.RewriteManifests(stream, file, new WorkloadSwapOptions { DisableLabel = disableLabel });
            }

            foreach (SwappedManifest manifest in result.Manifests)
            {
                invalid += ReportInvalid(streams, manifest.Workload, manifest.Swap);
                if (!first)
                {
                    streams.Out.WriteLine("---");
                }

                first = false;
                streams.Out.Write(manifest.ToYaml());
            }

            DiagnosticOutput.WriteText(streams.Error, result.Diagnostics);
            errors |= result.HasErrors;
            leftOut += result.LeftOut;
        }

        if (leftOut > 0)
        {
            streams.Error.WriteLine($"info: {leftOut} object(s) that are not Pods or workloads were left out (image swap does not change them).");
        }

        return invalid > 0 || errors ? ExitCodes.InputError : ExitCodes.Ok;
    }

    private static Command BuildCheck(CliStreams streams, Dictionary<Command, string> examples)
    {
        var mapFile = new Option<string?>("--map-file") { Description = "An imageswap-webhook map file.", HelpName = "file" };
        var mirrors = new Option<string?>("--mirror-registries") { Description = "Palette's MIRROR_REGISTRIES list ('default::' implied).", HelpName = "list" };
        var images = new Argument<string[]>("image") { Description = "Images to check; with none, one per line from standard input.", Arity = ArgumentArity.ZeroOrMore };
        var check = new Command("check",
            "Does the admission-time rewrite send each image to the repository the node-level mirror (rendered from the same rules) would fetch? " +
            "Prints one line per disagreement; exit 0 when they agree, 3 when some image disagrees.")
        {
            mapFile, mirrors, images,
        };
        examples[check] = """
              registry-policy swap check --mirror-registries 'docker.io::harbor.example.org/airgap/docker.io' nginx:1.25 docker.io/library/redis:7
              kubectl get pods -A -o jsonpath='{..image}' | tr ' ' '\n' | sort -u | registry-policy swap check --map-file samples/maps.conf
            """;
        check.SetAction(result =>
        {
            ImageSwapMap map = LoadMap(result.GetValue(mapFile), result.GetValue(mirrors), streams);
            DiagnosticOutput.WriteText(streams.Error, map.Diagnostics);
            string[] given = result.GetValue(images) ?? [];
            var findings = MirrorSet.FromSwapMap(map).CheckConsistency(new ImageSwapper(map), given.Length > 0 ? given : InputLines.Read(streams.In));
            foreach (ConsistencyFinding f in findings)
            {
                streams.Out.WriteLine($"{f.Image}: admission -> {f.AdmissionRepository}, node mirror -> {f.NodeRepository}: {f.Reason}");
            }

            return findings.IsEmpty ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return check;
    }

    public static Command BuildRender(CliStreams streams, Dictionary<Command, string> examples)
    {
        var format = new Argument<string>("format") { Description = "containerd (config.toml v2 registry.mirrors), hosts-toml (certs.d/<host>/hosts.toml) or registries-conf (containers-registries.conf v2)." };
        format.AcceptOnlyFromAmong("containerd", "hosts-toml", "registries-conf");
        var mapFile = new Option<string?>("--map-file") { Description = "An imageswap-webhook map file.", HelpName = "file" };
        var mirrors = new Option<string?>("--mirror-registries") { Description = "Palette's MIRROR_REGISTRIES list.", HelpName = "list" };
        var registryInfo = new Option<string?>("--registry-info")
        {
            Description = "Palette's registry-info Secret (YAML or JSON): MIRROR_REGISTRIES gives the rules, INSECURE turns on --skip-verify.",
            HelpName = "file",
        };
        var outDir = new Option<string?>("--out") { Description = "Write files into this directory (hosts-toml: <dir>/<host>/hosts.toml) instead of standard output.", HelpName = "dir" };
        var plainHttp = new Option<bool>("--plain-http") { Description = "The mirror speaks plain HTTP." };
        var skipVerify = new Option<bool>("--skip-verify") { Description = "Do not verify the mirror's TLS certificate." };
        var ca = new Option<string?>("--ca") { Description = "A CA certificate file on the node for the mirror (hosts-toml).", HelpName = "file" };
        var command = new Command("render",
            "Render node-level mirror configuration from the same rules the admission webhook uses. Rules a node cannot express " +
            "(EXACT, REPLACE, flat prefixes, a non-empty default) are reported on stderr. Exit 0, 1 when the map cannot be read or has a skipped line (what could be read is still rendered), as swap does.")
        {
            format, mapFile, mirrors, registryInfo, outDir, plainHttp, skipVerify, ca,
        };
        examples[command] = """
              registry-policy render containerd --mirror-registries 'docker.io::harbor.example.org/airgap/docker.io,gcr.io::harbor.example.org/airgap/gcr.io'
              registry-policy render hosts-toml --map-file samples/maps.conf --out certs.d
              registry-policy render registries-conf --map-file samples/maps.conf > mirrors.conf
              registry-policy render containerd --registry-info samples/registry-info.yaml
            """;
        command.SetAction(result =>
        {
            bool insecure = false;
            ImageSwapMap map;
            if (result.GetValue(registryInfo) is { } infoFile)
            {
                if (result.GetValue(mapFile) is not null || result.GetValue(mirrors) is not null)
                {
                    throw new UsageException("give one of --map-file, --mirror-registries and --registry-info");
                }

                Snapshots.ClusterSnapshot secretFile = SnapshotInput.Load([infoFile], streams);
                DiagnosticOutput.WriteText(streams.Error, secretFile.Diagnostics);
                Snapshots.SecretObject secret = secretFile.Secrets.FirstOrDefault() ?? throw new InputException($"{infoFile}: no Secret found");
                PaletteRegistryInfoReadResult read = PaletteRegistryInfo.Read(secret, secretFile.LocationOf(secret.Reference));
                DiagnosticOutput.WriteText(streams.Error, read.Diagnostics);
                if (read.HasErrors)
                {
                    throw new InputException($"{infoFile}: the registry-info Secret has errors (listed above)");
                }

                PaletteRegistryInfo info = read.Info;
                map = info.Map;
                insecure = info.Insecure;
            }
            else
            {
                map = LoadMap(result.GetValue(mapFile), result.GetValue(mirrors), streams);
            }

            MirrorSet set = MirrorSet.FromSwapMap(map);
            DiagnosticOutput.WriteText(streams.Error, map.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Concat(set.Diagnostics));
            var options = new MirrorRenderOptions { PlainHttp = result.GetValue(plainHttp), SkipVerify = result.GetValue(skipVerify) || insecure, CaFile = result.GetValue(ca) };
            string? dir = result.GetValue(outDir);
            if (dir is not null && (dir.Length == 0 || File.Exists(dir)))
            {
                throw new InputException($"--out '{dir}': not a directory (give a directory; it is created if missing)");
            }

            var files = result.GetValue(format) switch
            {
                "containerd" => new Dictionary<string, string> { ["config.toml"] = set.RenderContainerdConfig() },
                "registries-conf" => new Dictionary<string, string> { ["registries.conf"] = set.RenderRegistriesConf(options) },
                _ => set.RenderHostsToml(options).ToDictionary(p => Path.Combine(p.Key, "hosts.toml"), p => p.Value),
            };
            foreach (var (name, text) in files)
            {
                if (dir is null)
                {
                    if (files.Count > 1)
                    {
                        streams.Out.WriteLine($"# {name}");
                    }

                    streams.Out.Write(text);
                }
                else
                {
                    string path = Path.Combine(dir, name);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    File.WriteAllText(path, text);
                    streams.Error.WriteLine($"wrote {path}");
                }
            }

            // As swap does: what could be read is still rendered, and a map with errors (lines upstream skips) exits 1.
            return map.HasErrors ? ExitCodes.InputError : ExitCodes.Ok;
        });
        return command;
    }

    private static ImageSwapMap LoadMap(string? file, string? list, CliStreams streams)
    {
        if ((file is null) == (list is null))
        {
            throw new UsageException("give exactly one of --map-file and --mirror-registries");
        }

        if (list is not null)
        {
            return ImageSwapMap.LoadMirrorRegistries(list);
        }

        return ImageSwapMap.Load(CliFiles.ReadText(file!, "--map-file", streams), file!);
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
        SwapRule.Invalid => "invalid",
        SwapRule.AlreadySwapped => "already-swapped",
        _ => "upstream-error",
    };
}
