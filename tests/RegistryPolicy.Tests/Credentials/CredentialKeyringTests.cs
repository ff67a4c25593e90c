using RegistryPolicy.Credentials;

namespace RegistryPolicy.Tests.Credentials;

public class CredentialKeyringTests
{
    private static DockerConfig Config(params string[] servers) =>
        new(servers.Select(s => new DockerConfigEntry(s, new RegistryCredential("user-" + s, "pw"))).ToArray());

    private static CredentialKeyring Keyring(params string[] servers) => CredentialKeyring.Create([Config(servers)]);

    private static string[] Keys(KeyringLookup lookup) => lookup.Matches.Select(m => m.IndexKey).ToArray();

    [Fact]
    public void The_image_is_normalised_before_lookup()
    {
        KeyringLookup lookup = Keyring("docker.io/library").Lookup("nginx:1.25");
        Assert.Equal("docker.io/library/nginx", lookup.Target);
        Assert.Equal(["docker.io/library"], Keys(lookup));
    }

    [Fact]
    public void A_raw_lookup_skips_normalisation()
    {
        CredentialKeyring keyring = Keyring("docker.io");
        Assert.False(keyring.LookupRaw("quay.io/nginx").Found);
        Assert.Equal(["docker.io"], Keys(keyring.LookupRaw("docker.io/nginx")));
    }

    [Theory]
    [InlineData("https://r.io", "r.io")]
    [InlineData("http://r.io/", "r.io")]
    [InlineData("r.io/v1/", "r.io")]
    [InlineData("https://r.io/v2/team", "r.io/team")]
    [InlineData("r.io/v2", "r.io/v2")]
    [InlineData("user:pw@r.io:5000/x?q=1#f", "r.io:5000/x")]
    [InlineData("ex?mple.com", "ex")]
    [InlineData("R.IO:443", "R.IO:443")]
    public void Config_keys_become_index_keys_without_scheme_userinfo_query_or_v1_v2(string server, string key) =>
        Assert.Equal([key], Keyring(server).Keys);

    [Theory]
    [InlineData(" r.io")]
    [InlineData("[a-z]*.example.com")]
    [InlineData("r.io:abc")]
    [InlineData("r.io/%zz")]
    public void Keys_that_are_not_urls_are_skipped_with_a_warning(string server)
    {
        CredentialKeyring keyring = Keyring(server);
        Assert.Empty(keyring.Keys);
        Assert.Contains(keyring.Diagnostics, d => d.Code == "key-unparsable");
    }

    [Theory]
    [InlineData("r.io:5000", "r.io:5000/app", true)]
    [InlineData("r.io", "r.io:5000/app", false)]
    [InlineData("r.io:5000", "r.io/app", false)]
    [InlineData("r.io:443", "r.io/app", false)]
    [InlineData("*.example.com", "a.example.com/x", true)]
    [InlineData("*.example.com", "a.b.example.com/x", false)]
    [InlineData("*.example.com", "example.com/x", false)]
    [InlineData("*kubernetes.io", "kubernetes.io/x", true)]
    [InlineData("a?c.io", "abc.io/x", false)] // '?' starts a URL query: the key is just "a"
    [InlineData("[ab]c.io", "bc.io/x", false)] // '[' opens an IPv6 literal: the key fails to parse and is skipped
    [InlineData("R.io", "r.io/x", false)]
    [InlineData("r.io/team", "r.io/team/app", true)]
    [InlineData("r.io/team", "r.io/team-other/app", true)]
    [InlineData("r.io/team/", "r.io/team-other/app", false)]
    [InlineData("r.io/app:1.0", "r.io/app", false)]
    [InlineData("*.docker.io", "docker.io/library/nginx", false)]
    [InlineData("*.io", "docker.io/library/nginx", true)]
    [InlineData("[::1]:5000", "[::1]:5000/repo", true)]
    public void Keys_match_by_port_label_count_label_glob_and_raw_path_prefix(string server, string image, bool matches) =>
        Assert.Equal(matches, Keyring(server).LookupRaw(image).Found);

    [Fact]
    public void Every_matching_key_contributes_in_descending_byte_order()
    {
        CredentialKeyring keyring = Keyring("*.example.com/team", "example.com", "app.example.com", "app.example.com/team/app");
        Assert.Equal(["example.com", "app.example.com/team/app", "app.example.com", "*.example.com/team"], keyring.Keys);
        Assert.Equal(["app.example.com/team/app", "app.example.com", "*.example.com/team"], Keys(keyring.Lookup("app.example.com/team/app:1")));
    }

    [Fact]
    public void Credentials_under_one_key_keep_secret_order()
    {
        var first = new DockerConfig([new DockerConfigEntry("r.io", new RegistryCredential("first", "1"))]);
        var second = new DockerConfig([new DockerConfigEntry("https://r.io/v1/", new RegistryCredential("second", "2"))]);
        KeyringLookup lookup = CredentialKeyring.Create([first, second]).Lookup("r.io/app");
        Assert.Equal(["first", "second"], lookup.Matches.Select(m => m.Credential.Username));
    }

    [Theory]
    [InlineData("https://index.docker.io/v1/")]
    [InlineData("index.docker.io")]
    [InlineData("https://index.docker.io/v2/")]
    public void Docker_Hub_credentials_under_index_docker_io_apply_only_through_the_fallback(string server)
    {
        CredentialKeyring keyring = Keyring(server);
        KeyringLookup lookup = keyring.Lookup("nginx");
        KeyringMatch match = Assert.Single(lookup.Matches);
        Assert.True(match.ViaDockerHubFallback);
        Assert.True(lookup.UsedDockerHubFallback);
        Assert.False(keyring.Lookup("quay.io/nginx").Found);
        Assert.True(keyring.Lookup("bitnami/kafka").Found);
    }

    [Fact]
    public void A_direct_docker_io_match_suppresses_the_fallback()
    {
        KeyringLookup lookup = Keyring("https://index.docker.io/v1/", "docker.io").Lookup("nginx");
        KeyringMatch match = Assert.Single(lookup.Matches);
        Assert.Equal("docker.io", match.IndexKey);
        Assert.False(match.ViaDockerHubFallback);
    }

    [Theory]
    [InlineData("nginx", true)]
    [InlineData("library/nginx", true)]
    [InlineData("docker.io/x/y", true)]
    [InlineData("index.docker.io/x", true)]
    [InlineData("team/app", true)]
    [InlineData("quay.io/x", false)]
    [InlineData("localhost:5000/x", false)]
    [InlineData("/x", false)]
    public void The_default_registry_test_follows_the_kubelet(string image, bool expected) =>
        Assert.Equal(expected, CredentialKeyring.IsDefaultRegistryMatch(image));

    [Fact]
    public void An_image_that_does_not_parse_is_not_looked_up()
    {
        KeyringLookup lookup = Keyring("docker.io").Lookup("NGINX");
        Assert.False(lookup.Found);
        Assert.StartsWith("uppercase:", lookup.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_that_can_never_match_are_reported()
    {
        CredentialKeyring keyring = Keyring("*.docker.io", "r.io/app:1.0");
        Assert.Equal(2, keyring.Diagnostics.Count(d => d.Code == "key-never-matches"));
    }

    [Fact]
    public void An_unreadable_secret_makes_the_keyring_report_an_error()
    {
        CredentialKeyring keyring = CredentialKeyring.Create([PullSecret.FromDockerConfigJson("ns", "bad", "{"u8.ToArray())]);
        Assert.True(keyring.HasErrors);
        Assert.Equal("Secret ns/bad", keyring.Diagnostics[0].Subject.ToString());
    }

    [Fact]
    public void Matches_name_their_secret()
    {
        CredentialKeyring keyring = CredentialKeyring.Create([PullSecret.FromDockerConfigJson("team", "regcred", DockerConfigJson.Encode("r.io", "u", "p"))]);
        KeyringMatch match = Assert.Single(keyring.Lookup("r.io/a").Matches);
        Assert.Equal("team", match.Secret!.Value.Namespace);
        Assert.Equal("regcred", match.Secret!.Value.Name);
        Assert.Equal("r.io", match.Server);
    }
}
