using System.Text.Json;

namespace ComputeBank.Domain.Tests.Values;

public sealed class HoursTests
{
    [Theory]
    [InlineData("12.5", 12_500)]
    [InlineData("12", 12_000)]
    [InlineData("0.001", 1)]
    [InlineData("12.500", 12_500)]
    [InlineData("-0.5", -500)]
    [InlineData("1000000000", 1_000_000_000_000)]
    public void GivenDecimalText_WhenParsing_ThenExactMilliHours(string text, long milliHours) =>
        Assert.Equal(milliHours, Hours.Parse(text).MilliHours);

    [Theory]
    [InlineData("1.0001", "at most 3 decimals")]
    [InlineData("", "decimal number")]
    [InlineData("1.", "decimal number")]
    [InlineData(".5", "decimal number")]
    [InlineData("1e3", "decimal number")]
    [InlineData("+1", "decimal number")]
    [InlineData(" 1", "decimal number")]
    [InlineData("1,5", "decimal number")]
    [InlineData("99999999999999999999", "too large")]
    public void GivenBadText_WhenParsing_ThenError(string text, string message)
    {
        Assert.False(Hours.TryParse(text, out _, out var error));
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(12_500, "12.500")]
    [InlineData(0, "0.000")]
    [InlineData(1, "0.001")]
    [InlineData(-1, "-0.001")]
    [InlineData(long.MinValue, "-9223372036854775.808")]
    [InlineData(long.MaxValue, "9223372036854775.807")]
    public void GivenHours_WhenFormatting_ThenAlwaysThreeDecimals(long milliHours, string text) =>
        Assert.Equal(text, new Hours(milliHours).ToString());

    [Fact]
    public void GivenHoursAtTheTop_WhenAdding_ThenOverflowIsAnErrorNotAWrap()
    {
        var top = new Hours(long.MaxValue);

        Assert.Throws<OverflowException>(() => top + new Hours(1));
        Assert.Throws<OverflowException>(() => new Hours(long.MinValue) - new Hours(1));
        Assert.Throws<OverflowException>(() => -new Hours(long.MinValue));
        Assert.False(Hours.TryAdd(top, new Hours(1), out _));
        Assert.True(Hours.TryAdd(top, new Hours(-1), out var sum));
        Assert.Equal(long.MaxValue - 1, sum.MilliHours);
    }

    [Theory]
    [InlineData("0.001", null)]
    [InlineData("1000000000", null)]
    [InlineData("0", "greater than zero")]
    [InlineData("-1", "greater than zero")]
    [InlineData("1000000000.001", "at most 1000000000")]
    public void GivenAmount_WhenValidating_ThenOnlyPositiveUpToOneBillion(string text, string? error)
    {
        var result = Hours.Parse(text).ValidateAmount();

        if (error is null)
        {
            Assert.Null(result);
        }
        else
        {
            Assert.Contains(error, result, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("{\"hours\":\"12.5\"}", 12_500)]
    [InlineData("{\"hours\":12.5}", 12_500)]
    [InlineData("{\"hours\":0.001}", 1)]
    [InlineData("{\"hours\":999999999.999}", 999_999_999_999)]
    public void GivenJsonStringOrNumber_WhenReading_ThenExactFromTheRawText(string json, long milliHours) =>
        Assert.Equal(milliHours, JsonSerializer.Deserialize<Holder>(json, DomainJson.Options)!.Hours.MilliHours);

    [Theory]
    [InlineData("{\"hours\":12.5001}")]
    [InlineData("{\"hours\":1e2}")]
    [InlineData("{\"hours\":true}")]
    [InlineData("{\"hours\":\"abc\"}")]
    public void GivenBadJson_WhenReading_ThenJsonException(string json) =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Holder>(json, DomainJson.Options));

    [Fact]
    public void GivenHours_WhenWritingJson_ThenAString() =>
        Assert.Equal("{\"hours\":\"12.500\"}", JsonSerializer.Serialize(new Holder(Hours.Parse("12.5")), DomainJson.Options));

    private sealed record Holder(Hours Hours);
}
