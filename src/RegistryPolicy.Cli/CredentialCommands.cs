using System.CommandLine;
using System.Text;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Cli;

/// <summary><c>registry-policy encode</c> and <c>registry-policy creds decode|match</c>.</summary>
internal static class CredentialCommands
{
    public static Command BuildEncode(CliStreams streams, Dictionary<Command, string> examples)
    {
        var server = new Option<string?>("--server")
        {
            Description = "The registry key, verbatim (kubectl's --docker-server). Default: https://index.docker.io/v1/. Given but empty is refused, as kubectl does.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var username = new Option<string?>("--username") { Description = "The username (required)." };
        var password = new Option<string?>("--password") { Description = "The password. Prefer --password-stdin: arguments are visible to other users." };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input (one trailing newline is removed)." };
        var email = new Option<string?>("--email") { Description = "The e-mail address; omitted when empty." };
        var layout = new Option<string>("--layout") { Description = "kubectl (default) or auth-only (one entry with only 'auth', as Kyma's webhook writes).", DefaultValueFactory = _ => "kubectl" };
        layout.AcceptOnlyFromAmong("kubectl", "auth-only");
        Option<string> output = OutputFormat.Create("raw", "raw", "secret-yaml", "secret-json");
        var name = new Option<string?>("--name") { Description = "The Secret's name for secret-yaml/secret-json (required there)." };
        var ns = new Option<string?>("--namespace", "-n") { Description = "The Secret's namespace for secret-yaml/secret-json." };

        var command = new Command("encode",
            "Encode registry credentials byte for byte as 'kubectl create secret docker-registry' does: the .dockerconfigjson content (-o raw), " +
            "or the whole Secret as 'kubectl ... --dry-run=client -o yaml|json' prints it. Exit 1 with kubectl's reason where kubectl refuses.")
        {
            server, username, password, passwordStdin, email, layout, output, name, ns,
        };
        examples[command] = """
              registry-policy encode --server registry.example.com --username ci --password-stdin < samples/token.txt
              registry-policy encode --server r.io --username u --password-stdin -o secret-yaml --name pull -n team-a < samples/token.txt
              diff <(registry-policy encode --server r.io --username u --password p -o secret-json --name s) \
                   <(kubectl create secret docker-registry s --docker-server r.io --docker-username u --docker-password p --dry-run=client -o json)
            """;
        command.SetAction(result =>
        {
            string? pass = result.GetValue(password);
            if (result.GetValue(passwordStdin))
            {
                if (pass is not null)
                {
                    throw new UsageException("use either --password or --password-stdin, not both");
                }

                // Bounded like every input: a password is short, and endless input (/dev/zero) must not exhaust memory.
                byte[] raw = CliFiles.ReadBytes("-", "--password-stdin", streams, maxBytes: 64 * 1024);
                // Read as it is (no byte order mark removed). A password that is not UTF-8 cannot be written as kubectl writes
                // it (its "password" field is replaced text, its "auth" the raw bytes): refused rather than silently changed.
                if (!System.Text.Unicode.Utf8.IsValid(raw))
                {
                    throw new InputException("the password on standard input is not valid UTF-8; it would not be stored as given (kubectl writes such a password differently in 'password' and 'auth'). Give it as UTF-8 text");
                }

                pass = new System.Text.UTF8Encoding(false).GetString(raw);
                if (pass.EndsWith("\r\n", StringComparison.Ordinal))
                {
                    pass = pass[..^2];
                }
                else if (pass.EndsWith('\n'))
                {
                    pass = pass[..^1];
                }
            }

            string format = result.GetValue(output)!;
            string? secretName = result.GetValue(name);
            if (format != "raw" && string.IsNullOrEmpty(secretName))
            {
                throw new UsageException($"-o {format} needs --name");
            }

            DockerConfigLayout chosen = result.GetValue(layout) == "auth-only" ? DockerConfigLayout.AuthOnly : DockerConfigLayout.Kubectl;
            // "--server=" is given-but-empty (kubectl refuses it), which is not the same as leaving --server out.
            string? serverValue = result.GetResult(server) is null ? null : result.GetValue(server) ?? string.Empty;
            // kubectl's own refusal names kubectl's flags; say which of ours is missing.
            string? missing = string.IsNullOrEmpty(result.GetValue(username)) ? "--username is required and must not be empty"
                : string.IsNullOrEmpty(pass) ? "--password (or --password-stdin) is required and must not be empty"
                : serverValue is { Length: 0 } ? "--server was given empty; leave it out for Docker Hub (https://index.docker.io/v1/)"
                : null;
            if (missing is not null)
            {
                streams.Error.WriteLine($"error: {missing} (kubectl refuses the same: \"{DockerConfigJson.MissingValuesMessage}\")");
                return ExitCodes.InputError;
            }

            if (!DockerConfigJson.TryEncode(serverValue, result.GetValue(username), pass, result.GetValue(email), chosen, out byte[]? bytes, out string? error))
            {
                streams.Error.WriteLine($"error: {error}");
                return ExitCodes.InputError;
            }

            string text = format switch
            {
                "secret-yaml" => DockerRegistrySecret.ToYaml(secretName!, result.GetValue(ns), bytes),
                "secret-json" => DockerRegistrySecret.ToJson(secretName!, result.GetValue(ns), bytes),
                _ => new UTF8Encoding(false).GetString(bytes) + "\n",
            };
            streams.Out.Write(text);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command BuildCreds(CliStreams streams, Dictionary<Command, string> examples)
    {
        var command = new Command("creds", "Decode pull secrets and find which credential the kubelet uses for an image. Passwords are shown only with --show-secrets.");
        examples[command] = """
              registry-policy creds decode -f samples/pull-secret.yaml
              registry-policy creds match --dockerconfig samples/dockerconfig.json registry.example.com/org/app:1
            """;
        command.Add(BuildDecode(streams, examples));
        command.Add(BuildMatch(streams, examples));
        return command;
    }

    private static Command BuildDecode(CliStreams streams, Dictionary<Command, string> examples)
    {
        var files = new Option<string[]>("--file", "-f") { Description = "A Secret manifest (YAML or JSON; a single Secret, a v1 List or several documents).", AllowMultipleArgumentsPerToken = false };
        var configs = new Option<string[]>("--dockerconfig") { Description = "A .dockerconfigjson file (the content of one pull secret)." };
        Option<string> output = OutputFormat.Create("table", "table", "json");
        var showSecrets = new Option<bool>("--show-secrets") { Description = "Print passwords. Without it only a SHA-256 fingerprint is shown." };
        var command = new Command("decode",
            "Decode pull secrets as the kubelet reads them (type and data key must agree; 'auth' overrides username/password). " +
            "With --kubeconfig [-n NS], the cluster's pull secrets (read-only). " +
            "Exit 1 when any secret has an error the kubelet would fail the pull on.")
        {
            files, configs, output, showSecrets,
        };
        var live = new LiveInput(namespaces: true);
        live.AddTo(command);
        var namespaces = new Option<string[]>("--namespace", "-n") { Description = "With --kubeconfig: read these namespaces' Secrets only (default: every namespace).", HelpName = "namespace" };
        command.Add(namespaces);
        examples[command] = """
              kubectl get secret regcred -o yaml | registry-policy creds decode -f /dev/stdin
              registry-policy creds decode --dockerconfig samples/dockerconfig.json -o json
            """;
        command.SetAction(result =>
        {
            string[] secretFiles = result.GetValue(files) ?? [];
            string[] configFiles = result.GetValue(configs) ?? [];
            bool fromCluster = result.GetValue(live.Kubeconfig) is not null;
            if (secretFiles.Length == 0 && configFiles.Length == 0 && !fromCluster)
            {
                throw new UsageException("give -f SECRET.yaml, --dockerconfig FILE or --kubeconfig FILE");
            }

            if (fromCluster && configFiles.Length > 0)
            {
                throw new UsageException("--dockerconfig and --kubeconfig exclude each other: decode a file or the cluster's pull secrets, not both");
            }

            string[] only = result.GetValue(namespaces) ?? [];
            if (only.Length > 0 && !fromCluster)
            {
                throw new UsageException("-n narrows a live read: it needs --kubeconfig FILE");
            }

            var decoded = new List<(string Label, DockerConfigReadResult Read)>();
            var diagnostics = new List<Diagnostic>();
            if (secretFiles.Length > 0 || fromCluster)
            {
                // The one reader of Kubernetes objects, with its limits, as every other command uses it; from the cluster,
                // only Secrets are listed, and only pull secrets (the types the kubelet reads) are decoded.
                List<Snapshots.SnapshotSource> sources = fromCluster
                    ? live.Read(result, files, streams, namespaces: only, resources: ["secrets"])
                    : SnapshotInput.Read(secretFiles, streams);
                foreach (Snapshots.SnapshotSource source in sources)
                {
                    diagnostics.AddRange(source.Diagnostics);
                    foreach (Snapshots.LocatedObject located in source.Objects)
                    {
                        if (located.Item is not Snapshots.SecretObject secret ||
                            (fromCluster && secret.Type is not ("kubernetes.io/dockerconfigjson" or "kubernetes.io/dockercfg")))
                        {
                            continue;
                        }

                        var pullSecret = new PullSecret(secret.Namespace, secret.Name, secret.Type,
                            secret.Data.RevealEntries().ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
                        DockerConfigReadResult read = pullSecret.ReadDockerConfig();
                        decoded.Add(($"{secret.Namespace}/{secret.Name}", read));
                        diagnostics.AddRange(read.Diagnostics.Select(d => d with { Location = d.Location ?? located.Location }));
                    }
                }
            }

            foreach (string file in configFiles)
            {
                DockerConfigReadResult read = DockerConfigJson.Read(CliFiles.ReadBytes(file, "--dockerconfig", streams, CliFiles.MaxDockerConfigBytes), DockerConfigFormat.DockerConfigJson, field: null);
                decoded.Add((file, read));
                diagnostics.AddRange(read.Diagnostics.Select(d => d with { Location = d.Location ?? new SourceLocation(file, 0, 0) }));
            }

            bool reveal = result.GetValue(showSecrets);
            if (result.GetValue(output) == "json")
            {
                var json = new JsonLineWriter(streams.Out);
                json.StartObject();
                json.StartArray("secrets");
                foreach ((string label, DockerConfigReadResult read) in decoded)
                {
                    json.StartObject();
                    json.String("secret", label);
                    json.StartArray("entries");
                    foreach (DockerConfigEntry entry in read.Config.Entries)
                    {
                        json.StartObject();
                        json.String("server", reveal ? entry.Server : entry.DisplayServer);
                        json.String("username", entry.Credential.Username);
                        if (reveal)
                        {
                            json.String("password", entry.Credential.RevealPassword());
                        }

                        json.String("passwordFingerprint", entry.Credential.HasPassword ? entry.Credential.Fingerprint : null);
                        json.String("email", entry.Credential.Email);
                        json.EndObject();
                    }

                    json.EndArray();
                    json.EndObject();
                }

                json.EndArray();
                DiagnosticOutput.WriteJson(json, diagnostics);
                json.EndObject();
                json.EndLine();
            }
            else
            {
                var rows = new List<string[]> { new[] { "SECRET", "SERVER", "USERNAME", reveal ? "PASSWORD" : "PASSWORD (fingerprint)", "EMAIL" } };
                foreach ((string label, DockerConfigReadResult read) in decoded)
                {
                    foreach (DockerConfigEntry entry in read.Config.Entries)
                    {
                        string shown = reveal ? entry.Credential.RevealPassword() : entry.Credential.HasPassword ? entry.Credential.Fingerprint : "(none)";
                        rows.Add([label, reveal ? entry.Server : entry.DisplayServer, entry.Credential.Username, shown, entry.Credential.Email ?? ""]);
                    }
                }

                Table.Write(streams.Out, rows);
                DiagnosticOutput.WriteText(streams.Error, diagnostics);
            }

            return diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error) ? ExitCodes.InputError : ExitCodes.Ok;
        });
        return command;
    }

    private static Command BuildMatch(CliStreams streams, Dictionary<Command, string> examples)
    {
        var image = new Argument<string>("IMAGE") { Description = "The image as written in a pod spec." };
        var configs = new Option<string[]>("--dockerconfig") { Description = "A .dockerconfigjson file: one pull secret's content. Repeat in the pod's imagePullSecrets order.", Required = true };
        var raw = new Option<bool>("--raw") { Description = "Match the string as given, without normalising it (as the kubelet's unit tests call the keyring)." };
        Option<string> output = OutputFormat.Create("text", "text", "json");
        var command = new Command("match",
            "List the registry keys whose credentials the kubelet would try for IMAGE, in the kubelet's order (descending byte order of keys; " +
            "the Docker Hub fallback to index.docker.io only when nothing matched). Prints keys and fingerprints, never passwords.")
        {
            image, configs, raw, output,
        };
        examples[command] = """
              registry-policy creds match --dockerconfig samples/dockerconfig.json --dockerconfig samples/dockerconfig-hub.json nginx:1.25
              registry-policy creds match -o json --dockerconfig samples/dockerconfig.json registry.example.com/team/app
            """;
        command.SetAction(result =>
        {
            var diagnostics = new List<Diagnostic>();
            var decodedConfigs = new List<DockerConfig>();
            foreach (string file in result.GetValue(configs)!)
            {
                DockerConfigReadResult read = DockerConfigJson.Read(CliFiles.ReadBytes(file, "--dockerconfig", streams, CliFiles.MaxDockerConfigBytes), DockerConfigFormat.DockerConfigJson);
                diagnostics.AddRange(read.Diagnostics.Select(d => d with { Location = d.Location ?? new SourceLocation(file, 0, 0) }));
                decodedConfigs.Add(read.Config);
            }

            CredentialKeyring keyring = CredentialKeyring.Create(decodedConfigs);
            diagnostics.AddRange(keyring.Diagnostics);
            string target = result.GetValue(image)!;
            KeyringLookup lookup = result.GetValue(raw) ? keyring.LookupRaw(target) : keyring.Lookup(target);
            if (result.GetValue(output) == "json")
            {
                var json = new JsonLineWriter(streams.Out);
                json.StartObject();
                json.String("image", target);
                json.String("lookup", lookup.Target);
                json.StartArray("matches");
                foreach (KeyringMatch match in lookup.Matches)
                {
                    json.StringValue(match.IndexKey);
                }

                json.EndArray();
                json.StartArray("credentials");
                foreach (KeyringMatch match in lookup.Matches)
                {
                    json.StartObject();
                    json.String("key", match.IndexKey);
                    json.String("server", match.DisplayServer);
                    json.String("username", match.Credential.Username);
                    json.String("passwordFingerprint", match.Credential.HasPassword ? match.Credential.Fingerprint : null);
                    json.Boolean("dockerHubFallback", match.ViaDockerHubFallback);
                    json.EndObject();
                }

                json.EndArray();
                json.String("error", lookup.Error);
                DiagnosticOutput.WriteJson(json, diagnostics);
                json.EndObject();
                json.EndLine();
            }
            else
            {
                if (lookup.Error is not null)
                {
                    streams.Error.WriteLine($"error: {lookup.Error}");
                }
                else if (!lookup.Found)
                {
                    streams.Out.WriteLine($"no credentials for {lookup.Target}: the kubelet pulls anonymously");
                }

                foreach (KeyringMatch match in lookup.Matches)
                {
                    streams.Out.WriteLine(match.IndexKey + (match.ViaDockerHubFallback ? "\t(Docker Hub fallback)" : "") + $"\t{match.Credential}");
                }

                DiagnosticOutput.WriteText(streams.Error, diagnostics);
            }

            return lookup.Error is null ? ExitCodes.Ok : ExitCodes.InputError;
        });
        return command;
    }
}
