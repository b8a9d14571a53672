using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json.Serialization;

namespace ComputeBank.Domain;

/// <summary>How long a settlement period is. The catalogue picks one for the whole bank.</summary>
public enum PeriodGranularity
{
    Monthly,
    Quarterly,
}

/// <summary>
/// A settlement period: a calendar month written <c>2026-11</c>, or a quarter written <c>2026-Q4</c>.
/// Ordered in time; <see cref="PeriodsUntil"/> counts periods between two of the same granularity.
/// </summary>
[JsonConverter(typeof(StringValueJsonConverter<Period>))]
public sealed record Period : IStringValue<Period>, IComparable<Period>
{
    private Period(PeriodGranularity granularity, int year, int index)
    {
        Granularity = granularity;
        Year = year;
        Index = index;
    }

    public PeriodGranularity Granularity { get; }

    public int Year { get; }

    /// <summary>Month 1-12 or quarter 1-4.</summary>
    public int Index { get; }

    public static Period Month(int year, int month) =>
        year is >= 1 and <= 9999 && month is >= 1 and <= 12 ? new(PeriodGranularity.Monthly, year, month) : throw new ArgumentOutOfRangeException(nameof(month));

    public static Period Quarter(int year, int quarter) =>
        year is >= 1 and <= 9999 && quarter is >= 1 and <= 4 ? new(PeriodGranularity.Quarterly, year, quarter) : throw new ArgumentOutOfRangeException(nameof(quarter));

    /// <summary>The quarter (1-4) this period lies in.</summary>
    public int QuarterOfYear => Granularity == PeriodGranularity.Monthly ? (Index - 1) / 3 + 1 : Index;

    private int PerYear => Granularity == PeriodGranularity.Monthly ? 12 : 4;

    private int Ordinal => Year * PerYear + Index - 1;

    /// <summary>How many periods <paramref name="later"/> lies after this one (negative when before).</summary>
    public int PeriodsUntil(Period later)
    {
        if (later.Granularity != Granularity)
        {
            throw new ArgumentException("periods of different granularity cannot be compared", nameof(later));
        }

        return later.Ordinal - Ordinal;
    }

    public bool IsInSameQuarterAs(Period other) => Year == other.Year && QuarterOfYear == other.QuarterOfYear;

    public Period AddPeriods(int count)
    {
        var ordinal = Ordinal + count;
        return new Period(Granularity, ordinal / PerYear, ordinal % PerYear + 1);
    }

    /// <summary>The period of <paramref name="granularity"/> that contains <paramref name="instant"/> (its UTC date).</summary>
    public static Period Containing(DateTimeOffset instant, PeriodGranularity granularity)
    {
        var utc = instant.UtcDateTime;
        return granularity == PeriodGranularity.Monthly ? Month(utc.Year, utc.Month) : Quarter(utc.Year, (utc.Month - 1) / 3 + 1);
    }

    /// <summary>How many periods of this granularity make up twelve months.</summary>
    public int PeriodsPerYear => PerYear;

    public int CompareTo(Period? other) =>
        other is null ? 1 : Granularity != other.Granularity ? Granularity.CompareTo(other.Granularity) : Ordinal.CompareTo(other.Ordinal);

    public static Period Parse(string text) => TryParse(text, out var period, out var error) ? period : throw new FormatException(error);

    /// <summary>Parses <c>yyyy-MM</c> (monthly) or <c>yyyy-Qn</c> (quarterly).</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Period? value, out string? error)
    {
        value = null;
        error = "must be a period like 2026-11 (or 2026-Q4 for quarters)";
        if (text is null || text.Length < 7 || text[4] != '-' ||
            !int.TryParse(text.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year) || year < 1)
        {
            return false;
        }

        if (text.Length == 7 && int.TryParse(text.AsSpan(5, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var month) && month is >= 1 and <= 12)
        {
            value = new Period(PeriodGranularity.Monthly, year, month);
        }
        else if (text.Length == 7 && text[5] == 'Q' && text[6] is >= '1' and <= '4')
        {
            value = new Period(PeriodGranularity.Quarterly, year, text[6] - '0');
        }

        error = value is null ? error : null;
        return value is not null;
    }

    public override string ToString() => Granularity == PeriodGranularity.Monthly
        ? string.Create(CultureInfo.InvariantCulture, $"{Year:D4}-{Index:D2}")
        : string.Create(CultureInfo.InvariantCulture, $"{Year:D4}-Q{Index}");
}
