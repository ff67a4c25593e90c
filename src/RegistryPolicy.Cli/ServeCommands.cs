using System.Collections.Immutable;
using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RegistryPolicy.AspNetCore;
using RegistryPolicy.Policies;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Cli;

/// <summary><c>serve</c> (the admission webhook host on Kestrel) and <c>serve manifests</c>.</summary>
internal static class ServeCommands
{
    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var listen = new Option<string>("--listen") { Description = "The address and port to listen on (host:port, [v6]:port).", DefaultValueFactory = _ => "0.0.0.0:8443", HelpName = "host:port" };
        var cert = new Option<string?>("--tls-cert") { Description = "The serving certificate (PEM); re-read when it changes, also through a secret volume's ..data symlink.", HelpName = "file" };
        var key = new Option<string?>("--tls-key") { Description = "The certificate's private key (PEM).", HelpName = "file" };
        var plain = new Option<bool>("--plain-http") { Description = "Serve HTTP without TLS (for local tests only: the API server calls webhooks over HTTPS)." };
        var mapFile = new Option<string?>("--map-file") { Description = "An imageswap-webhook map file for /mutate/pods; re-read when it changes.", HelpName = "file" };
        var mirrors = new Option<string?>("--mirror-registries") { Description = "Palette's MIRROR_REGISTRIES list instead of a map file ('default::' implied).", HelpName = "list" };
        var dialect = new Option<string>("--dialect") { Description = "imageswap (upstream's rules, the default) or reference (the reference grammar).", DefaultValueFactory = _ => "imageswap" };
        dialect.AcceptOnlyFromAmong("imageswap", "reference");
        var swapSwapped = new Option<bool>("--swap-swapped-images")
        {
            Description = "Swap images that already point at a map target again, as upstream does (off by default: a Pod UPDATE or a reinvocation would swap twice).",
        };
        var disableLabel = new Option<string>("--disable-label") { Description = "The opt-out label; Pods and workloads where it is 'disabled' are left alone.", DefaultValueFactory = _ => "k8s.twr.io/imageswap", HelpName = "key" };
        Option<string?> policy = SnapshotInput.PolicyOption();
        policy.Description = "A policy document for /mutate/secrets (YAML or JSON); re-read when it changes. Default: the preset kyma-serverless.";
        Option<string?> preset = SnapshotInput.PresetOption();
        var exclude = new Option<string[]>("--namespace-exclude")
        {
            Description = "A namespace whose requests are allowed untouched (repeatable); a second guard behind the webhook's namespaceSelector.",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "namespace",
        };
        var timeout = new Option<double>("--request-timeout") { Description = "Seconds allowed to receive and answer a review (then 408).", DefaultValueFactory = _ => 4, HelpName = "seconds" };
        var reload = new Option<double>("--reload-interval") { Description = "Seconds between checks of the map, policy and certificate files.", DefaultValueFactory = _ => 2, HelpName = "seconds" };
        var delay = new Option<double>("--shutdown-delay") { Description = "Seconds to keep answering after SIGTERM, with /readyz failing, before draining.", DefaultValueFactory = _ => 0, HelpName = "seconds" };
        var drain = new Option<double>("--shutdown-timeout") { Description = "Seconds allowed for requests in flight to finish after SIGTERM.", DefaultValueFactory = _ => 20, HelpName = "seconds" };
        var logLevel = new Option<string>("--log-level") { Description = "trace, debug, information, warning or error (logs go to standard error).", DefaultValueFactory = _ => "information" };
        logLevel.AcceptOnlyFromAmong("trace", "debug", "information", "warning", "error");
        var command = new Command("serve",
            "Runs the mutating admission webhooks on Kestrel: POST /mutate/pods (the image-swap rewrite as a JSONPatch), POST /mutate/secrets " +
            "(the policy's Secret defaulting), GET /healthz, /readyz and /metrics (Prometheus). Runs until SIGTERM or Ctrl+C, then drains. " +
            "Exit 0 after a clean shutdown, 1 when the configuration or certificate cannot be loaded at start.")
        {
            listen, cert, key, plain, mapFile, mirrors, dialect, swapSwapped, disableLabel, policy, preset, exclude, timeout, reload, delay, drain, logLevel,
        };
        examples[command] = """
              registry-policy serve manifests --map-file samples/maps.conf
              openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
                -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout tls.key -out tls.crt 2>/dev/null && \
                registry-policy serve --listen 127.0.0.1:8443 --tls-cert tls.crt --tls-key tls.key --map-file samples/maps.conf
              registry-policy serve --listen 127.0.0.1:8080 --plain-http --mirror-registries 'docker.io::harbor.example.org/docker.io' --dialect reference
            """;
        command.SetAction(result =>
        {
            string address = result.GetValue(listen)!;
            if (address.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
            {
                address = "127.0.0.1" + address["localhost".Length..];
            }

            if (!IPEndPoint.TryParse(address, out IPEndPoint? endpoint) || endpoint.Port == 0 || !address.Contains(':', StringComparison.Ordinal))
            {
                throw new UsageException($"--listen '{result.GetValue(listen)}' is not address:port with a port from 1 (for example 127.0.0.1:8443, localhost:8443, 0.0.0.0:8443 or [::]:8443)");
            }

            foreach (string ns in result.GetValue(exclude) ?? [])
            {
                if (!Names.IsNamespace(ns))
                {
                    throw new UsageException($"--namespace-exclude '{ns}' is not a namespace name (lower-case letters, digits and '-', at most 63)");
                }
            }

            if (!Names.IsLabelKey(result.GetValue(disableLabel)!))
            {
                throw new UsageException($"--disable-label '{result.GetValue(disableLabel)}' is not a label key ([prefix/]name, for example k8s.twr.io/imageswap)");
            }

            string? certFile = result.GetValue(cert), keyFile = result.GetValue(key);
            bool http = result.GetValue(plain);
            if (http && (certFile ?? keyFile) is not null)
            {
                throw new UsageException("--plain-http and --tls-cert/--tls-key exclude each other");
            }

            if (!http && (certFile is null || keyFile is null))
            {
                throw new UsageException("serve needs --tls-cert and --tls-key (the API server calls webhooks over HTTPS), or --plain-http for a local test");
            }

            if (result.GetValue(mapFile) is not null && result.GetValue(mirrors) is not null)
            {
                throw new UsageException("--map-file and --mirror-registries exclude each other");
            }

            if (result.GetValue(policy) is not null && result.GetValue(preset) is not null)
            {
                throw new UsageException("--policy and --preset exclude each other");
            }

            foreach (Option<double> seconds in new[] { timeout, reload, delay, drain })
            {
                double value = result.GetValue(seconds);
                if (!(value >= 0 && value <= 3600) || (seconds != delay && value == 0))
                {
                    throw new UsageException($"{seconds.Name} must be a number of seconds{(seconds == delay ? " from 0" : " above 0")} up to 3600");
                }
            }

            ReloadingCertificate? certificate = null;
            if (!http && !ReloadingCertificate.TryLoad(certFile!, keyFile!, out certificate, out string? certError))
            {
                throw new InputException(certError);
            }

            var options = new RegistryPolicyWebhookOptions
            {
                MapFile = result.GetValue(mapFile),
                MirrorRegistries = result.GetValue(mirrors),
                Dialect = result.GetValue(dialect) == "reference" ? SwapDialect.Reference : SwapDialect.ImageSwap,
                SwapSwappedImages = result.GetValue(swapSwapped),
                DisableLabel = result.GetValue(disableLabel)!,
                PolicyFile = result.GetValue(policy),
                Preset = result.GetValue(preset),
                ExcludedNamespaces = [.. result.GetValue(exclude) ?? []],
                RequestTimeout = TimeSpan.FromSeconds(result.GetValue(timeout)),
                ReloadInterval = TimeSpan.FromSeconds(result.GetValue(reload)),
                ShutdownDelay = TimeSpan.FromSeconds(result.GetValue(delay)),
                Certificate = certificate,
            };
            return Run(streams, endpoint, options, TimeSpan.FromSeconds(result.GetValue(drain)), Level(result.GetValue(logLevel)!));
        });
        command.Add(BuildManifests(streams, examples));
        return command;
    }

    private static LogLevel Level(string name) => name switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => LogLevel.Information,
    };

    private static int Run(CliStreams streams, IPEndPoint endpoint, RegistryPolicyWebhookOptions options, TimeSpan drain, LogLevel level)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(level);
        // Kestrel's and the host's own chatter stays at warning unless asked for.
        builder.Logging.AddFilter("Microsoft", level <= LogLevel.Debug ? level : LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        // A failure to bind is reported once, as an error line and exit 1, not also as the host's stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = drain + options.ShutdownDelay);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The webhook endpoints hold each body to the 3 MiB limit themselves (and count a refusal in the metrics); other paths read no body.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(5);
            // A body that trickles in slower than this is dropped (after a 2 s grace), as are idle keep-alive connections after 2 min.
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(2));
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                if (options.Certificate is { } certificate)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificateSelector = (_, _) => certificate.Current,
                        SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                    });
                }
                else
                {
                    listen.Protocols = HttpProtocols.Http1;
                }
            });
        });
        builder.Services.AddRegistryPolicyWebhooks(options);
        WebApplication app = builder.Build();
        app.MapRegistryPolicyWebhooks();
        // The first version loaded when the endpoints were mapped, before the server listens: a configuration that cannot
        // load is an exit at start, not a host that is never ready.
        WebhookStatus status = app.Services.GetRequiredService<WebhookStatus>();
        if (!status.Ready)
        {
            streams.Error.WriteLine($"error: {status.Describe().Trim()}");
            return ExitCodes.InputError;
        }

        try
        {
            app.Start();
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            throw new InputException($"cannot listen on {endpoint}: {e.Message}");
        }

        streams.Error.WriteLine($"registry-policy serve: listening on {(options.Certificate is null ? "http" : "https")}://{endpoint}");
        streams.Error.Flush();
        app.WaitForShutdown();
        return ExitCodes.Ok;
    }

    private static Command BuildManifests(CliStreams streams, Dictionary<Command, string> examples)
    {
        var ns = new Option<string>("--namespace", "-n") { Description = "The namespace the webhook runs in (left out of its own webhooks).", DefaultValueFactory = _ => "registry-policy" };
        var image = new Option<string>("--image") { Description = "The container image of registry-policy.", DefaultValueFactory = _ => "registry-policy:0.1.0" };
        var mapFile = new Option<string?>("--map-file") { Description = "The map file to ship in the ConfigMap (default: 'default::', which swaps nothing).", HelpName = "file" };
        var dialect = new Option<string>("--dialect") { Description = "imageswap or reference.", DefaultValueFactory = _ => "imageswap" };
        dialect.AcceptOnlyFromAmong("imageswap", "reference");
        var secrets = new Option<bool>("--secrets") { Description = "Also register /mutate/secrets, with the policy's object selector (preset kyma-serverless unless --preset)." };
        Option<string?> preset = SnapshotInput.PresetOption();
        var caBundle = new Option<string?>("--ca-bundle") { Description = "The PEM CA bundle the API server trusts for the webhook (else the cert-manager annotation is set).", HelpName = "file" };
        var output = OutputFormat.Create("yaml", "yaml", "json");
        var command = new Command("manifests",
            "Prints what it takes to run the webhooks: ServiceAccount (no RBAC rules: the host reads nothing from the API), ConfigMap, Deployment (2 replicas, probes), " +
            "PodDisruptionBudget, Service, cert-manager Issuer and Certificate, and a MutatingWebhookConfiguration that fails open.")
        {
            ns, image, mapFile, dialect, secrets, preset, caBundle, output,
        };
        examples[command] = """
              registry-policy serve manifests --map-file samples/maps.conf
              registry-policy serve manifests --map-file samples/maps.conf --secrets -n platform -o json
            """;
        command.SetAction(result =>
        {
            string namespaceName = result.GetValue(ns)!;
            if (!Names.IsNamespace(namespaceName))
            {
                throw new UsageException($"--namespace '{namespaceName}' is not a namespace name (lower-case letters, digits and '-', at most 63)");
            }

            string map = result.GetValue(mapFile) is { } f ? CliFiles.ReadText(f, "--map-file", streams) : "default::\n";
            if (result.GetValue(mapFile) is { } mf && ImageSwapMap.Load(map, mf) is var loaded && (loaded.HasErrors || (loaded.Maps.Count == 0 && loaded.Exact.Count == 0 && loaded.Replace.IsEmpty)))
            {
                DiagnosticOutput.WriteText(streams.Error, loaded.Diagnostics);
                throw new InputException(loaded.HasErrors ? $"{mf} has errors; serve would refuse it" : $"{mf} has no entries, and serve refuses an empty map; to swap nothing on purpose, write 'default::'");
            }

            CompiledPolicy? policy = null;
            if (result.GetValue(secrets))
            {
                policy = SnapshotInput.LoadPolicy(null, result.GetValue(preset), streams);
                if (policy.Document.Spec.Admission is null)
                {
                    throw new InputException($"the policy has no admission rule, so there is no Secret webhook to register");
                }
            }

            string? ca = result.GetValue(caBundle) is { } caFile ? CliFiles.ReadText(caFile, "--ca-bundle", streams) : null;
            if (ca is not null && !ca.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                throw new InputException($"--ca-bundle {result.GetValue(caBundle)} holds no PEM certificate");
            }
            var list = WebhookManifests.Build(namespaceName, result.GetValue(image)!, map, result.GetValue(dialect)!, policy, ca);
            if (result.GetValue(output) == "json")
            {
                StructuredOutput.WriteJson(streams.Out, new JsonObject { ["apiVersion"] = "v1", ["kind"] = "List", ["items"] = new JsonArray([.. list]) });
            }
            else
            {
                bool first = true;
                foreach (JsonObject item in list)
                {
                    streams.Out.Write(first ? string.Empty : "---\n");
                    StructuredOutput.WriteYaml(streams.Out, item);
                    first = false;
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
