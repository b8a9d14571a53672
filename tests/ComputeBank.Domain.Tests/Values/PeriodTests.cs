namespace ComputeBank.Domain.Tests.Values;

public sealed class PeriodTests
{
    [Theory]
    [InlineData("2026-11", PeriodGranularity.Monthly, 4)]
    [InlineData("2026-01", PeriodGranularity.Monthly, 1)]
    [InlineData("2026-Q4", PeriodGranularity.Quarterly, 4)]
    public void GivenText_WhenParsing_ThenGranularityAndQuarter(string text, PeriodGranularity granularity, int quarter)
    {
        var period = Period.Parse(text);

        Assert.Equal((granularity, quarter, text), (period.Granularity, period.QuarterOfYear, period.ToString()));
    }

    [Theory]
    [InlineData("2026-13")]
    [InlineData("2026-00")]
    [InlineData("2026-Q5")]
    [InlineData("26-11")]
    [InlineData("2026-1")]
    [InlineData("2026/11")]
    public void GivenBadText_WhenParsing_ThenRejected(string text) => Assert.False(Period.TryParse(text, out _, out _));

    [Theory]
    [InlineData("2026-11", "2027-03", 4)]
    [InlineData("2026-11", "2026-11", 0)]
    [InlineData("2026-12", "2026-11", -1)]
    [InlineData("2026-Q4", "2028-Q1", 5)]
    public void GivenTwoPeriods_WhenCounting_ThenPeriodsBetween(string from, string to, int between) =>
        Assert.Equal(between, Period.Parse(from).PeriodsUntil(Period.Parse(to)));

    [Fact]
    public void GivenPeriods_WhenOrderingAndAdding_ThenCalendarOrder()
    {
        Assert.True(Period.Parse("2026-12").CompareTo(Period.Parse("2027-01")) < 0);
        Assert.Equal(Period.Parse("2027-01"), Period.Parse("2026-12").AddPeriods(1));
        Assert.Equal(Period.Parse("2026-Q1"), Period.Parse("2025-Q4").AddPeriods(1));
        Assert.Throws<ArgumentException>(() => Period.Parse("2026-11").PeriodsUntil(Period.Parse("2026-Q4")));
    }
}
