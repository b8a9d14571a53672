namespace ComputeBank.Domain.Tests.Values;

public sealed class CatalogueTests
{
    [Fact]
    public void GivenDefaultCatalogue_WhenValidating_ThenNoErrors() => Assert.Empty(LedgerCatalogue.Default.Validate());

    [Fact]
    public void GivenBadCatalogue_WhenValidating_ThenErrorsPerField()
    {
        var catalogue = LedgerCatalogue.Default with
        {
            ResourceClasses = ["GPU H100", "gpu.a100", "gpu.a100"],
            Regions = [],
            SystemAccounts = new SystemAccountNames(Expiry: "bank.capacity"),
        };

        var errors = catalogue.Validate();

        Assert.Equal(["regions", "resourceClasses", "systemAccounts"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, errors["resourceClasses"].Length);
    }

    [Theory]
    [InlineData("acme", true)]
    [InlineData("acme.gpu:pool-1_x", true)]
    [InlineData("0", true)]
    [InlineData("Acme", false)]
    [InlineData(".acme", false)]
    [InlineData("", false)]
    [InlineData("a/b", false)]
    public void GivenText_WhenParsingAccountId_ThenPatternApplies(string text, bool valid) =>
        Assert.Equal(valid, AccountId.TryParse(text, out _, out _));

    [Fact]
    public void GivenLongIds_WhenParsing_ThenLimitsApply()
    {
        Assert.True(AccountId.TryParse(new string('a', 64), out _, out _));
        Assert.False(AccountId.TryParse(new string('a', 65), out _, out _));
        Assert.True(OperationId.TryParse(new string('x', 128), out _, out _));
        Assert.False(OperationId.TryParse(new string('x', 129), out _, out _));
        Assert.False(OperationId.TryParse("tab\there", out _, out _));
        Assert.False(OperationId.TryParse("", out _, out _));
    }
}
