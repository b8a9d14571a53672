namespace ComputeBank.Domain;

/// <summary>Which region change a conversion rule applies to.</summary>
public enum RegionChange
{
    Same,
    Different,
    Any,
}

/// <summary>
/// One configured rule for moving credits between buckets of one resource class. It matches when the region change
/// fits, the destination lies between <paramref name="MinPeriodsAhead"/> and <paramref name="MaxPeriodsAhead"/>
/// periods after the source (null: no upper bound), and, if <paramref name="WithinQuarter"/>, both periods are in one quarter.
/// <paramref name="Rate"/> is a decimal (bound from configuration as text, never a double): 0 &lt; rate ≤ 1, at most 6 decimals.
/// </summary>
public sealed record ConversionRule(
    string Name,
    decimal Rate,
    RegionChange Regions = RegionChange.Same,
    int MinPeriodsAhead = 0,
    int? MaxPeriodsAhead = null,
    bool WithinQuarter = false)
{
    public bool Matches(Bucket from, Bucket to)
    {
        var ahead = from.Period.PeriodsUntil(to.Period);
        var sameRegion = from.Region == to.Region;
        return (Regions == RegionChange.Any || sameRegion == (Regions == RegionChange.Same)) &&
               ahead >= MinPeriodsAhead &&
               (MaxPeriodsAhead is null || ahead <= MaxPeriodsAhead) &&
               (!WithinQuarter || from.Period.IsInSameQuarterAs(to.Period));
    }
}

/// <summary>
/// The bank's conversion policy for cross-period and cross-region transfers: the first matching rule gives the rate;
/// no match is <c>no_conversion_rate</c>.
/// </summary>
public sealed record ConversionPolicy(IReadOnlyList<ConversionRule> Rules)
{
    /// <summary>
    /// Same region within one quarter 1.0; same region deferred more than three periods 0.9; another region in the
    /// same period 0.95. Anything else (earlier periods, 1-3 periods into the next quarter, region and period both) has no rate.
    /// </summary>
    public static ConversionPolicy Default { get; } = new([
        new ConversionRule("same-region-within-quarter", 1.0m, RegionChange.Same, MinPeriodsAhead: 0, WithinQuarter: true),
        new ConversionRule("same-region-deferred", 0.9m, RegionChange.Same, MinPeriodsAhead: 4),
        new ConversionRule("cross-region-same-period", 0.95m, RegionChange.Different, MinPeriodsAhead: 0, MaxPeriodsAhead: 0),
    ]);

    /// <summary>The rate for moving from <paramref name="from"/> to <paramref name="to"/>, or null when no rule matches.</summary>
    public ConversionRate? RateFor(Bucket from, Bucket to)
    {
        foreach (var rule in Rules)
        {
            if (rule.Matches(from, to))
            {
                return ConversionRate.FromDecimal(rule.Rate, out _);
            }
        }

        return null;
    }

    /// <summary>Error messages per rule (<c>conversion.rules[0].rate</c>); empty when valid.</summary>
    public IEnumerable<KeyValuePair<string, string>> Validate()
    {
        for (var i = 0; i < Rules.Count; i++)
        {
            var rule = Rules[i];
            var field = $"conversion.rules[{i.ToString(System.Globalization.CultureInfo.InvariantCulture)}]";
            if (ConversionRate.FromDecimal(rule.Rate, out var error) is null)
            {
                yield return new($"{field}.rate", $"rate {error}");
            }

            if (string.IsNullOrWhiteSpace(rule.Name))
            {
                yield return new($"{field}.name", "name is required");
            }

            if (rule.MaxPeriodsAhead < rule.MinPeriodsAhead)
            {
                yield return new($"{field}.maxPeriodsAhead", "maxPeriodsAhead must not be below minPeriodsAhead");
            }
        }
    }
}
