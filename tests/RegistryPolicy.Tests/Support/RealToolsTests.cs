using Xunit.Sdk;

namespace RegistryPolicy.Tests.Support;

public class RealToolsTests
{
    [Fact]
    public void A_missing_tool_fails_the_test_in_CI()
    {
        FailException e = Assert.Throws<FailException>(() => RealTools.RequireThat(false, "'nope' is not installed", inCi: true));
        Assert.Contains("'nope' is not installed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_tool_skips_the_test_outside_CI() =>
        Assert.Throws<Xunit.SkipException>(() => RealTools.RequireThat(false, "'nope' is not installed", inCi: false));

    [Fact]
    public void A_present_tool_neither_skips_nor_fails()
    {
        RealTools.RequireThat(true, "unused", inCi: true);
        Assert.NotNull(RealTools.Find("bash"));
    }
}
