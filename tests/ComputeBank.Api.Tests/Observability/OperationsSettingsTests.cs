using ComputeBank.Api.Observability;
using ComputeBank.Api.Tests.Durable;

namespace ComputeBank.Api.Tests.Observability;

public sealed class OperationsSettingsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65_537)]
    public void GivenAProjectionPageOutOfRange_WhenValidated_ThenRefusedNamingTheSetting(int rows)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => new OperationsSettings { ProjectionPageRows = rows }.Validated());

        Assert.Contains("ComputeBank:Operations:ProjectionPageRows", refused.Message, StringComparison.Ordinal);
        Assert.Contains(rows.ToString(System.Globalization.CultureInfo.InvariantCulture), refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4_000)]
    [InlineData(65_536)]
    public void GivenAProjectionPageInRange_WhenValidated_ThenKept(int rows) =>
        Assert.Equal(rows, new OperationsSettings { ProjectionPageRows = rows }.Validated().ProjectionPageRows);
}

/// <summary>The API configured with a projection page of no rows.</summary>
public sealed class ZeroPageApiFactory : DurableApiFactory
{
    protected override void AddSettings(IDictionary<string, string?> settings) =>
        settings["ComputeBank:Operations:ProjectionPageRows"] = "0";
}

public sealed class OperationsSettingsStartTests(ZeroPageApiFactory factory) : IClassFixture<ZeroPageApiFactory>
{
    [Fact]
    public void GivenAProjectionPageOfNoRows_WhenTheServiceStarts_ThenItRefusesNamingTheSetting()
    {
        var refused = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("ProjectionPageRows", refused.ToString(), StringComparison.Ordinal);
    }
}
