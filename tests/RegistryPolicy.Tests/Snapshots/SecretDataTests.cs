using FsCheck;
using FsCheck.Xunit;
using RegistryPolicy.Credentials;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Snapshots;

public sealed class SecretDataTests
{
    [Property]
    public void The_remembered_fingerprint_is_always_the_fingerprint_of_the_key_asked_for(NonNull<string> first, NonNull<string> second, PositiveInt rounds)
    {
        var data = SecretData.FromStrings("password", first.Get, "token", second.Get);

        for (int i = 0; i < Math.Min(rounds.Get, 5); i++)
        {
            Assert.Equal(RegistryCredential.FingerprintOf(first.Get), data.FingerprintOf("password"));
            Assert.Equal(RegistryCredential.FingerprintOf(second.Get), data.FingerprintOf("token"));
            Assert.Null(data.FingerprintOf("absent"));
        }
    }

    [Fact]
    public void Fingerprints_asked_for_from_many_threads_agree()
    {
        var data = SecretData.FromStrings("a", "one", "b", "two");

        string?[] seen = new string?[64];
        Parallel.For(0, seen.Length, i => seen[i] = data.FingerprintOf(i % 2 == 0 ? "a" : "b"));

        Assert.All(seen.Where((_, i) => i % 2 == 0), f => Assert.Equal(RegistryCredential.FingerprintOf("one"), f));
        Assert.All(seen.Where((_, i) => i % 2 == 1), f => Assert.Equal(RegistryCredential.FingerprintOf("two"), f));
    }

    [Fact]
    public void Data_that_remembers_a_fingerprint_still_equals_data_that_does_not()
    {
        var remembered = SecretData.FromStrings("password", "s3cret");
        var fresh = SecretData.FromStrings("password", "s3cret");

        _ = remembered.FingerprintOf("password");

        Assert.Equal(fresh, remembered);
        Assert.Equal(fresh.GetHashCode(), remembered.GetHashCode());
        Assert.DoesNotContain("s3cret", remembered.ToString(), StringComparison.Ordinal);
    }
}
