using System.CommandLine;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RegistryPolicy.Kubernetes.Controller;
using RegistryPolicy.Policies;

namespace RegistryPolicy.Cli;

/// <summary><c>controller</c> (the propagation controller against a live cluster) and <c>controller manifests</c> (its RBAC and Deployment).</summary>
internal static class ControllerCommands
{
    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "A kubeconfig file (default: the in-cluster ServiceAccount).", HelpName = "file" };
        var context = new Option<string?>("--context") { Description = "The kubeconfig context (default: its current-context).", HelpName = "name" };
        Option<string?> policy = SnapshotInput.PolicyOption();
        Option<string?> preset = SnapshotInput.PresetOption();
        var dryRun = new Option<bool>("--dry-run") { Description = "Log the actions it would take and take none." };
        var resync = new Option<string>("--resync") { Description = "How often to plan again without events (Kyma's chart: 5m).", DefaultValueFactory = _ => "5m", HelpName = "duration" };
        var leaderElect = new Option<bool>("--leader-elect") { Description = "Elect a leader on a Lease; only the leader writes (needs --lease-namespace)." };
        var leaseNamespace = new Option<string?>("--lease-namespace") { Description = "The namespace of the Lease for --leader-elect.", HelpName = "namespace" };
        var leaseName = new Option<string>("--lease-name") { Description = "The Lease's name.", DefaultValueFactory = _ => "registry-policy-controller", HelpName = "name" };
        var health = new Option<string?>("--health-listen")
        {
            Description = "Serve GET /healthz, /readyz and /metrics (Prometheus) on host:port (for example 0.0.0.0:8081); off when not given.",
            HelpName = "host:port",
        };
        var creates = new Option<int>("--max-creates-per-minute") { Description = "The runaway guard: creates allowed in any minute; the rest wait, with a warning.", DefaultValueFactory = _ => 1000, HelpName = "n" };
        var writes = new Option<double>("--writes-per-second") { Description = "Writes per second over all objects (a token bucket of 100).", DefaultValueFactory = _ => 10, HelpName = "n" };
        var unhealthy = new Option<string>("--unhealthy-after") { Description = "/healthz fails when a watch has been down this long.", DefaultValueFactory = _ => "2m", HelpName = "duration" };
        var logLevel = new Option<string>("--log-level") { Description = "trace, debug, information, warning or error (logs go to standard error).", DefaultValueFactory = _ => "information" };
        logLevel.AcceptOnlyFromAmong("trace", "debug", "information", "warning", "error");
        var command = new Command("controller",
            "Runs the propagation controller against a cluster: lists and watches Namespaces, Secrets and ServiceAccounts, after every burst of events plans " +
            "the namespaces it affects (every namespace at each --resync), and applies the plan (creates, guarded updates and deletes, ServiceAccount patches), never writing a shielded " +
            "Secret, a base namespace's Secrets other than the base's finalizer, or a terminating namespace. Runs until SIGTERM or Ctrl+C. " +
            "Exit 0 after a clean stop, 1 when the kubeconfig or policy cannot be used. 'controller manifests' prints the RBAC it needs.")
        {
            kubeconfig, context, policy, preset, dryRun, resync, leaderElect, leaseNamespace, leaseName, health, creates, writes, unhealthy, logLevel,
        };
        examples[command] = """
              registry-policy controller manifests -n registry-policy
              registry-policy controller --kubeconfig ~/.kube/config --dry-run
              registry-policy controller --kubeconfig ~/.kube/config --context staging --preset kyma-serverless --resync 5m --health-listen 127.0.0.1:8081
              registry-policy controller --leader-elect --lease-namespace registry-policy --health-listen 0.0.0.0:8081
            """;
        command.SetAction(result =>
        {
            CompiledPolicy compiled = SnapshotInput.LoadPolicy(result.GetValue(policy), result.GetValue(preset), streams);
            KubernetesConnection connection = Connect(result.GetValue(kubeconfig), result.GetValue(context));
            if (result.GetValue(leaderElect) && result.GetValue(leaseNamespace) is null)
            {
                throw new UsageException("--leader-elect needs --lease-namespace NS (the namespace the Lease lives in, usually the controller's own)");
            }

            if (!result.GetValue(leaderElect) && result.GetValue(leaseNamespace) is not null)
            {
                throw new UsageException("--lease-namespace is used only with --leader-elect");
            }

            if (result.GetValue(leaseNamespace) is { } lns && !Names.IsNamespace(lns))
            {
                throw new UsageException($"--lease-namespace '{lns}' is not a namespace name (lower-case letters, digits and '-', at most 63)");
            }

            string lease = result.GetValue(leaseName)!;
            if (lease.Length > 253 || lease.Split('.').Any(part => !Names.IsNamespace(part)))
            {
                throw new UsageException($"--lease-name '{lease}' is not an object name (lower-case letters, digits, '-' and '.', at most 253)");
            }

            IPEndPoint? endpoint = result.GetValue(health) is { } h ? Endpoint(h, "--health-listen") : null;
            var options = new PropagationControllerOptions
            {
                DryRun = result.GetValue(dryRun),
                Resync = Duration(result.GetValue(resync)!, "--resync"),
                MaxCreatesPerMinute = result.GetValue(creates),
                WritesPerSecond = result.GetValue(writes),
                UnhealthyAfter = Duration(result.GetValue(unhealthy)!, "--unhealthy-after"),
                LeaderElection = result.GetValue(leaderElect) ? new LeaderElectionOptions(result.GetValue(leaseNamespace)!) { LeaseName = result.GetValue(leaseName)! } : null,
            };
            if (options.Validate() is { Count: > 0 } problems)
            {
                throw new UsageException(string.Join("; ", problems));
            }

            return Run(streams, compiled, connection, options, endpoint, Level(result.GetValue(logLevel)!));
        });
        command.Add(BuildManifests(streams, examples));
        return command;
    }

    /// <summary>The connection a --kubeconfig/--context pair names, or the in-cluster one.</summary>
    internal static KubernetesConnection Connect(string? kubeconfig, string? context)
    {
        if (kubeconfig is null)
        {
            if (context is not null)
            {
                throw new UsageException("--context needs --kubeconfig");
            }

            return KubernetesConnection.TryInCluster(out KubernetesConnection? inCluster, out string? why) ? inCluster! : throw new InputException(why!);
        }

        CliFiles.CheckName(kubeconfig, "--kubeconfig");
        return KubernetesConnection.TryFromKubeconfig(kubeconfig, context, out KubernetesConnection? connection, out string? error) ? connection! : throw new InputException(error!);
    }

    /// <summary>A duration as kubectl and controller flags write them: 90s, 5m, 1h, 1h30m, or a number of seconds.</summary>
    internal static TimeSpan Duration(string text, string option)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double plain) && plain >= 0)
        {
            return TimeSpan.FromSeconds(plain);
        }

        TimeSpan total = TimeSpan.Zero;
        int i = 0;
        bool any = false;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }

            if (i == start || i == text.Length || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                throw new UsageException($"{option} '{text}' is not a duration (for example 90s, 5m, 1h30m)");
            }

            string unit = text[i..].StartsWith("ms", StringComparison.Ordinal) ? "ms" : text[i].ToString();
            i += unit.Length;
            total += unit switch
            {
                "ms" => TimeSpan.FromMilliseconds(value),
                "s" => TimeSpan.FromSeconds(value),
                "m" => TimeSpan.FromMinutes(value),
                "h" => TimeSpan.FromHours(value),
                _ => throw new UsageException($"{option} '{text}' is not a duration: the units are ms, s, m and h"),
            };
            any = true;
        }

        return any && total <= TimeSpan.FromDays(7) ? total : throw new UsageException($"{option} '{text}' is not a duration from 0 to 7 days (for example 90s, 5m, 1h30m)");
    }

    private static IPEndPoint Endpoint(string text, string option)
    {
        string address = text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase) ? "127.0.0.1" + text["localhost".Length..] : text;
        return IPEndPoint.TryParse(address, out IPEndPoint? endpoint) && endpoint.Port != 0 && address.Contains(':', StringComparison.Ordinal)
            ? endpoint
            : throw new UsageException($"{option} '{text}' is not address:port with a port from 1 (for example 127.0.0.1:8081 or 0.0.0.0:8081)");
    }

    private static LogLevel Level(string name) => name switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => LogLevel.Information,
    };

    private static int Run(CliStreams streams, CompiledPolicy policy, KubernetesConnection connection, PropagationControllerOptions options, IPEndPoint? health, LogLevel level)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(level);
        builder.Logging.AddFilter("Microsoft", level <= LogLevel.Debug ? level : LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(5);
            if (health is not null)
            {
                kestrel.Listen(health, l => l.Protocols = HttpProtocols.Http1);
            }
        });
        builder.Services.AddMetrics();
        builder.Services.AddSingleton(sp => new PropagationController(policy, connection, options,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("RegistryPolicy.Controller"), sp.GetRequiredService<IMeterFactory>()));
        builder.Services.AddSingleton<PropagationControllerService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PropagationControllerService>());
        builder.Services.AddSingleton<ControllerMetricsText>();
        WebApplication app = builder.Build();
        PropagationController controller = app.Services.GetRequiredService<PropagationController>();
        ControllerMetricsText metrics = app.Services.GetRequiredService<ControllerMetricsText>();
        app.MapGet("/healthz", (RequestDelegate)(context => controller.IsHealthy()
            ? Text(context, 200, "ok\n")
            : Text(context, 503, $"unhealthy: watches down since {controller.Status.WatchesDownSince:O}; last error: {controller.Status.LastError}\n")));
        app.MapGet("/readyz", (RequestDelegate)(context => controller.Status.IsSynced ? Text(context, 200, "ok\n") : Text(context, 503, "not synced yet\n")));
        app.MapGet("/metrics", (RequestDelegate)(context => Text(context, 200, metrics.Render(controller.Status), "text/plain; version=0.0.4; charset=utf-8")));
        try
        {
            app.Start();
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            throw new InputException($"cannot listen on {health}: {e.Message}");
        }

        streams.Error.WriteLine($"registry-policy controller: {connection}{(options.DryRun ? ", dry run" : "")}{(health is null ? "" : $", health on http://{health}")}");
        streams.Error.Flush();
        app.WaitForShutdown();
        return ExitCodes.Ok;
    }

    private static Task Text(HttpContext context, int status, string text, string contentType = "text/plain; charset=utf-8")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        return context.Response.WriteAsync(text);
    }

    private static Command BuildManifests(CliStreams streams, Dictionary<Command, string> examples)
    {
        var ns = new Option<string>("--namespace", "-n") { Description = "The namespace the controller runs in (its Lease lives there too).", DefaultValueFactory = _ => "registry-policy" };
        var image = new Option<string>("--image") { Description = "The container image of registry-policy.", DefaultValueFactory = _ => "registry-policy:0.1.0" };
        Option<string?> preset = SnapshotInput.PresetOption();
        var output = OutputFormat.Create("yaml", "yaml", "json");
        var command = new Command("manifests",
            "Prints what the controller needs: a ServiceAccount; a ClusterRole to get, list and watch Namespaces, Secrets and ServiceAccounts, write Secrets " +
            "(create, update, patch, delete) and patch ServiceAccounts; a Role for its Lease; their bindings; and a Deployment (2 replicas, leader election, " +
            "liveness on /healthz).")
        {
            ns, image, preset, output,
        };
        examples[command] = """
              registry-policy controller manifests
              registry-policy controller manifests -n platform --preset openfaas -o json
            """;
        command.SetAction(result =>
        {
            string namespaceName = result.GetValue(ns)!;
            if (!Names.IsNamespace(namespaceName))
            {
                throw new UsageException($"--namespace '{namespaceName}' is not a namespace name (lower-case letters, digits and '-', at most 63)");
            }

            string presetName = result.GetValue(preset) ?? PolicyPresets.DefaultName;
            _ = SnapshotInput.LoadPolicy(null, presetName, streams);
            List<JsonObject> list = Manifests(namespaceName, result.GetValue(image)!, presetName);
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

    internal static List<JsonObject> Manifests(string ns, string image, string preset)
    {
        const string name = "registry-policy-controller";
        JsonObject Meta(bool namespaced) => namespaced
            ? new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = name } }
            : new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = name } };
        JsonObject Rule(string group, string[] resources, string[] verbs) => new()
        {
            ["apiGroups"] = new JsonArray(group),
            ["resources"] = new JsonArray([.. resources.Select(r => (JsonNode)r)]),
            ["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)v)]),
        };
        var subject = new JsonArray(new JsonObject { ["kind"] = "ServiceAccount", ["name"] = name, ["namespace"] = ns });
        return
        [
            // The namespace first, so that 'kubectl apply -f -' works on a cluster that does not have it yet.
            new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } },
            new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ServiceAccount", ["metadata"] = Meta(true) },
            new JsonObject
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRole", ["metadata"] = Meta(false),
                ["rules"] = new JsonArray(
                    Rule("", ["namespaces"], ["get", "list", "watch"]),
                    Rule("", ["secrets"], ["get", "list", "watch", "create", "update", "patch", "delete"]),
                    Rule("", ["serviceaccounts"], ["get", "list", "watch", "patch"])),
            },
            new JsonObject
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRoleBinding", ["metadata"] = Meta(false),
                ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = name },
                ["subjects"] = subject.DeepClone(),
            },
            new JsonObject
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "Role", ["metadata"] = Meta(true),
                ["rules"] = new JsonArray(Rule("coordination.k8s.io", ["leases"], ["get", "create", "update"])),
            },
            new JsonObject
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "RoleBinding", ["metadata"] = Meta(true),
                ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Role", ["name"] = name },
                ["subjects"] = subject.DeepClone(),
            },
            new JsonObject
            {
                ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["metadata"] = Meta(true),
                ["spec"] = new JsonObject
                {
                    ["replicas"] = 2,
                    ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app.kubernetes.io/name"] = name } },
                    ["template"] = new JsonObject
                    {
                        ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = name } },
                        ["spec"] = new JsonObject
                        {
                            ["serviceAccountName"] = name,
                            ["securityContext"] = new JsonObject { ["runAsNonRoot"] = true, ["runAsUser"] = 65532, ["seccompProfile"] = new JsonObject { ["type"] = "RuntimeDefault" } },
                            ["containers"] = new JsonArray(new JsonObject
                            {
                                ["name"] = "controller",
                                ["image"] = image,
                                ["args"] = new JsonArray("controller", "--preset", preset, "--leader-elect", "--lease-namespace", ns, "--health-listen", "0.0.0.0:8081"),
                                ["ports"] = new JsonArray(new JsonObject { ["name"] = "health", ["containerPort"] = 8081 }),
                                ["livenessProbe"] = new JsonObject { ["httpGet"] = new JsonObject { ["path"] = "/healthz", ["port"] = "health" }, ["periodSeconds"] = 10, ["failureThreshold"] = 3 },
                                ["readinessProbe"] = new JsonObject { ["httpGet"] = new JsonObject { ["path"] = "/readyz", ["port"] = "health" }, ["periodSeconds"] = 5 },
                                ["resources"] = new JsonObject
                                {
                                    ["requests"] = new JsonObject { ["cpu"] = "50m", ["memory"] = "64Mi" },
                                    ["limits"] = new JsonObject { ["memory"] = "512Mi" },
                                },
                                ["securityContext"] = new JsonObject
                                {
                                    ["allowPrivilegeEscalation"] = false, ["readOnlyRootFilesystem"] = true,
                                    ["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL") },
                                },
                            }),
                        },
                    },
                },
            },
        ];
    }
}

/// <summary>The controller's metrics as Prometheus text: its status, and the counters of its meter, gathered by a listener.</summary>
internal sealed class ControllerMetricsText : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public ControllerMetricsText()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PropagationController.MeterName && instrument is Counter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = new StringBuilder(instrument.Name.Replace('.', '_')).Append("_total");
            if (tags.Length > 0)
            {
                key.Append('{');
                for (int i = 0; i < tags.Length; i++)
                {
                    key.Append(i == 0 ? "" : ",").Append(tags[i].Key).Append("=\"").Append(tags[i].Value).Append('"');
                }

                key.Append('}');
            }

            lock (_lock)
            {
                string k = key.ToString();
                _counters[k] = _counters.GetValueOrDefault(k) + value;
            }
        });
        _listener.Start();
    }

    public string Render(ControllerStatus status)
    {
        var text = new StringBuilder();
        void Gauge(string name, string help, double value) =>
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(" gauge\n")
                .Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Gauge("registry_policy_controller_synced", "1 when every cache has listed once.", status.IsSynced ? 1 : 0);
        Gauge("registry_policy_controller_leader", "1 when this replica may write.", status.IsLeader ? 1 : 0);
        Gauge("registry_policy_controller_watches_down", "1 when a watch has no connection.", status.WatchesDownSince is null ? 0 : 1);
        Gauge("registry_policy_controller_runaway_guard_engaged", "1 while creates are held back by the runaway guard.", status.RunawayGuardEngaged ? 1 : 0);
        Gauge("registry_policy_controller_last_successful_sync_seconds", "Unix time of the last plan with nothing to do (0: none yet).", status.LastSuccessfulSync?.ToUnixTimeSeconds() ?? 0);
        lock (_lock)
        {
            foreach (var (key, value) in _counters.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                text.Append(key).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();
}
