using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Policies;

public sealed class PolicyVocabularyTests
{
    [Fact]
    public void The_kyma_preset_mentions_its_base_namespace_its_secret_names_and_the_keys_it_reads()
    {
        PolicyVocabulary vocabulary = PolicyPresets.Default.Vocabulary;

        Assert.Equal(["kyma-system"], vocabulary.BaseNamespaces);
        Assert.Contains("serverless-registry-config", vocabulary.SecretNames);
        Assert.Contains("serverless-registry-config-default", vocabulary.SecretNames);
        Assert.Contains("isInternal", vocabulary.DataKeys);
        Assert.Contains("pushRegAddr", vocabulary.DataKeys);
        Assert.Contains("password", vocabulary.DataKeys);
        Assert.Contains(vocabulary.Conditions, c => c.Key == "isInternal" && c.EqualsValue == "true");
        Assert.Contains("serverless.kyma-project.io/remote-registry", vocabulary.SecretLabelKeys);
        Assert.False(vocabulary.ReadsUnnamedSecrets);
    }

    [Theory]
    [MemberData(nameof(Support.Presets.Names), MemberType = typeof(Support.Presets))]
    public void The_secret_filter_keeps_every_secret_the_vocabulary_names_in_any_namespace(string name)
    {
        Assert.True(PolicyPresets.TryGet(name, out CompiledPolicy? policy));

        foreach (string secret in policy.Vocabulary.SecretNames)
        {
            Assert.True(policy.SecretFilter("some-team", secret, StringMap.Empty), secret);
        }

        foreach (string ns in policy.Vocabulary.BaseNamespaces)
        {
            Assert.True(policy.SecretFilter(ns, "anything", StringMap.Empty), ns);
        }
    }

    [Theory]
    [MemberData(nameof(Support.Presets.Names), MemberType = typeof(Support.Presets))]
    public void Two_loads_of_one_preset_have_equal_vocabularies(string name)
    {
        Assert.True(PolicyPresets.TryGetText(name, out string? text));

        Assert.Equal(PolicyLoader.Parse(text, "a").Vocabulary, PolicyLoader.Parse(text, "b").Vocabulary);
    }

    [Fact]
    public void Renamed_copies_are_named_per_target_namespace_and_make_the_filter_keep_everything()
    {
        Assert.True(PolicyPresets.TryGet("ibm-iks", out CompiledPolicy? policy));
        PolicyVocabulary vocabulary = policy.Vocabulary;
        Assert.Contains("team-a-icr-io", vocabulary.RenamedCopyNames("team-a"));
        Assert.NotEqual(vocabulary.RenamedCopyNames("team-a"), vocabulary.RenamedCopyNames("team-b"));
        Assert.True(vocabulary.ReadsUnnamedSecrets);
        Assert.True(policy.SecretFilter("team-a", "not-named-anywhere", StringMap.Empty));
    }
}
