namespace ComputeBank.Domain.Tests.Values;

public sealed class ConversionRateTests
{
    private static readonly Bucket From = Bucket.Of("gpu.h100", "beijing", "2026-11");

    [Theory]
    [InlineData("10", 900_000, "9")]
    [InlineData("0.011", 900_000, "0.009")] // 9.9 milli-hours floor to 9
    [InlineData("0.001", 999_999, "0")]
    [InlineData("1000000000", 333_333, "333333000")]
    [InlineData("1000000000", 1_000_000, "1000000000")]
    public void GivenRate_WhenApplying_ThenFloorOfExactProduct(string hours, long ppm, string credited) =>
        Assert.Equal(Hours.Parse(credited), new ConversionRate(ppm).Apply(Hours.Parse(hours)));

    [Theory]
    [InlineData("0.9", 900_000, null)]
    [InlineData("1", 1_000_000, null)]
    [InlineData("0.000001", 1, null)]
    [InlineData("0.0000001", 0, "at most 6 decimals")]
    [InlineData("0", 0, "greater than 0")]
    [InlineData("1.1", 0, "at most 1")]
    public void GivenDecimalRate_WhenConverting_ThenExactPartsPerMillion(string rate, long ppm, string? error)
    {
        var result = ConversionRate.FromDecimal(decimal.Parse(rate, System.Globalization.CultureInfo.InvariantCulture), out var message);

        Assert.Equal(error is null ? new ConversionRate(ppm) : null, result);
        if (error is not null)
        {
            Assert.Contains(error, message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("beijing", "2026-11", "beijing", "2026-12", "1.0")] // same quarter
    [InlineData("beijing", "2026-10", "beijing", "2026-12", "1.0")]
    [InlineData("beijing", "2026-11", "beijing", "2027-03", "0.9")] // four periods ahead
    [InlineData("beijing", "2026-11", "beijing", "2028-11", "0.9")]
    [InlineData("beijing", "2026-11", "tianjin", "2026-11", "0.95")] // cross region, same period
    [InlineData("beijing", "2026-11", "beijing", "2027-02", null)] // three periods ahead, next quarter
    [InlineData("beijing", "2026-12", "beijing", "2026-11", null)] // backwards
    [InlineData("beijing", "2026-11", "tianjin", "2026-12", null)] // region and period
    public void GivenDefaultPolicy_WhenFindingRate_ThenFirstMatchingRule(string fromRegion, string fromPeriod, string toRegion, string toPeriod, string? rate)
    {
        var result = ConversionPolicy.Default.RateFor(Bucket.Of("gpu.h100", fromRegion, fromPeriod), Bucket.Of("gpu.h100", toRegion, toPeriod));

        Assert.Equal(rate, result?.ToString());
    }

    [Fact]
    public void GivenQuarterlyPolicyWithAnyRegionRule_WhenFindingRate_ThenRuleApplies()
    {
        var policy = new ConversionPolicy([new ConversionRule("anything-next", 0.8m, RegionChange.Any, MinPeriodsAhead: 1, MaxPeriodsAhead: 1)]);

        Assert.Equal(800_000, policy.RateFor(Bucket.Of("gpu.h100", "beijing", "2026-Q4"), Bucket.Of("gpu.h100", "tianjin", "2027-Q1"))!.Value.PartsPerMillion);
        Assert.Null(policy.RateFor(From, From));
    }

    [Fact]
    public void GivenBadRule_WhenValidatingPolicy_ThenErrorPerField()
    {
        var policy = new ConversionPolicy([new ConversionRule("", 1.5m, MinPeriodsAhead: 3, MaxPeriodsAhead: 1)]);

        Assert.Equal(
            ["conversion.rules[0].rate", "conversion.rules[0].name", "conversion.rules[0].maxPeriodsAhead"],
            policy.Validate().Select(e => e.Key));
    }
}
