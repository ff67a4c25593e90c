using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Credentials;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Credentials;

public class CredentialProperties
{
    /// <summary>Passwords long and odd enough that finding one by accident in output is impossible: a marker plus random text.</summary>
    private static Gen<string> Password =>
        from body in Gen.ArrayOf(Gen.Elements("a", "Z", "9", "<", "&", "\"", "\\", ":", "é", "😀", " ", "%", "/", "\n", "\u2028"), 8)
        from n in Gen.Choose(100000, 999999)
        select $"S3cr{n}{string.Concat(body)}";

    private static Gen<string> Username =>
        Gen.ArrayOf(Gen.Elements("u", "s", "e", "r", "é", "<", "-", "."), 6).Select(parts => "u" + string.Concat(parts));

    [Property(MaxTest = 300)]
    public Property Encoding_then_decoding_gives_back_the_credential() =>
        Prop.ForAll(Username.ToArbitrary(), Password.ToArbitrary(), (user, password) =>
        {
            byte[] bytes = DockerConfigJson.Encode("r.io", user, password, "e@x");
            DockerConfigReadResult read = DockerConfigJson.Read(bytes, DockerConfigFormat.DockerConfigJson);
            DockerConfigEntry entry = read.Config.Entries.Single();
            return (read.Diagnostics.Count == 0 && entry.Server == "r.io" && entry.Credential.Equals(new RegistryCredential(user, password, "e@x")))
                .Label(string.Join("; ", read.Diagnostics));
        });

    [Property(MaxTest = 300)]
    public Property Both_layouts_decode_to_the_same_username_and_password() =>
        Prop.ForAll(Username.ToArbitrary(), Password.ToArbitrary(), (user, password) =>
        {
            RegistryCredential a = DockerConfigJson.Read(DockerConfigJson.Encode("r", user, password), DockerConfigFormat.DockerConfigJson).Config.Entries[0].Credential;
            RegistryCredential b = DockerConfigJson.Read(DockerConfigJson.Encode("r", user, password, layout: DockerConfigLayout.AuthOnly), DockerConfigFormat.DockerConfigJson).Config.Entries[0].Credential;
            return a.Equals(b);
        });

    [Property(MaxTest = 200)]
    public Property No_public_output_shows_a_password() =>
        Prop.ForAll(Username.ToArbitrary(), Password.ToArbitrary(), (user, password) =>
        {
            byte[] bytes = DockerConfigJson.Encode("r.io", user, password);
            var secret = PullSecret.FromDockerConfigJson("ns", "regcred", bytes);
            DockerConfigReadResult read = secret.ReadDockerConfig();
            RegistryCredential credential = read.Config.Entries[0].Credential;
            CredentialKeyring keyring = CredentialKeyring.Create([secret]);
            KeyringLookup lookup = keyring.Lookup("r.io/app");

            // A broken variant: the password inside malformed JSON must not be echoed by the diagnostic.
            byte[] broken = Encoding.UTF8.GetBytes($"{{\"auths\":{{\"r.io\":{{\"password\":\"{password.Replace("\"", "", StringComparison.Ordinal)}\",");
            DockerConfigReadResult brokenRead = DockerConfigJson.Read(broken, DockerConfigFormat.DockerConfigJson);

            string[] outputs =
            [
                credential.ToString(), credential.Fingerprint, secret.ToString(), read.Config.Entries[0].ToString(), read.ToString(),
                lookup.Matches[0].ToString(), lookup.ToString(), string.Join("\n", brokenRead.Diagnostics),
                System.Text.Json.JsonSerializer.Serialize(credential),
                System.Text.Json.JsonSerializer.Serialize(read.Config.Entries[0]),
            ];
            string? leak = outputs.FirstOrDefault(o => o.Contains(password, StringComparison.Ordinal) || o.Contains(password[..10], StringComparison.Ordinal));
            return (leak is null).Label($"leaked in: {leak}");
        });

    [Property(MaxTest = 100)]
    public Property No_cli_output_shows_a_password_unless_asked() =>
        Prop.ForAll(Username.ToArbitrary(), Password.ToArbitrary(), (user, password) =>
        {
            string dir = Directory.CreateTempSubdirectory("creds-").FullName;
            try
            {
                string config = Path.Combine(dir, "config.json");
                File.WriteAllBytes(config, DockerConfigJson.Encode("r.io", user, password));
                string secret = Path.Combine(dir, "secret.yaml");
                File.WriteAllText(secret, DockerRegistrySecret.ToYaml("regcred", "ns", DockerConfigJson.Encode("r.io", user, password)));

                CliResult[] hidden =
                [
                    CliRunner.Run("creds", "decode", "--dockerconfig", config),
                    CliRunner.Run("creds", "decode", "--dockerconfig", config, "-o", "json"),
                    CliRunner.Run("creds", "decode", "-f", secret),
                    CliRunner.Run("creds", "decode", "-f", secret, "-o", "json"),
                    CliRunner.Run("creds", "match", "--dockerconfig", config, "r.io/app"),
                    CliRunner.Run("creds", "match", "--dockerconfig", config, "-o", "json", "r.io/app"),
                ];
                bool hiddenOk = hidden.All(r => r.ExitCode == 0 && !r.Output.Contains(password[..10], StringComparison.Ordinal) && !r.Error.Contains(password[..10], StringComparison.Ordinal));

                CliResult shown = CliRunner.Run("creds", "decode", "--dockerconfig", config, "-o", "json", "--show-secrets");
                using var doc = System.Text.Json.JsonDocument.Parse(shown.Output);
                bool shownOk = doc.RootElement.GetProperty("secrets")[0].GetProperty("entries")[0].GetProperty("password").GetString() == password;
                return (hiddenOk && shownOk).Label($"hidden={hiddenOk} shown={shownOk}");
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        });

    [Property(MaxTest = 200)]
    public Property Fingerprints_are_equal_exactly_when_passwords_are() =>
        Prop.ForAll(Password.ToArbitrary(), Password.ToArbitrary(), (a, b) =>
            (RegistryCredential.FingerprintOf(a) == RegistryCredential.FingerprintOf(b)) == (a == b));

    [Property(MaxTest = 200)]
    public Property Adding_a_pull_secret_never_removes_a_match() =>
        Prop.ForAll(
            Gen.ArrayOf(Gen.Elements("r.io", "*.io", "docker.io", "https://index.docker.io/v1/", "r.io/team", "q.io:5000", "r.io/team/"), 3).ToArbitrary(),
            Gen.Elements("r.io", "*.io", "docker.io", "q.io:5000", "r.io/team/app").ToArbitrary(),
            Gen.Elements("nginx", "r.io/team/app", "q.io:5000/x", "r.io/other", "a.io/b").ToArbitrary(),
            (existing, added, image) =>
            {
                DockerConfig Cfg(string s) => new([new DockerConfigEntry(s, new RegistryCredential("u", s))]);
                KeyringLookup before = CredentialKeyring.Create(existing.Select(Cfg)).Lookup(image);
                KeyringLookup after = CredentialKeyring.Create(existing.Select(Cfg).Append(Cfg(added))).Lookup(image);
                // Direct matches only grow; fallback-only results may be replaced by a direct match, never by nothing.
                bool ok = before.UsedDockerHubFallback
                    ? after.Found
                    : before.Matches.All(m => after.Matches.Any(n => n.IndexKey == m.IndexKey && n.Credential.Equals(m.Credential)));
                return ok.Label($"{string.Join(",", existing)} + {added} for {image}");
            });
}
