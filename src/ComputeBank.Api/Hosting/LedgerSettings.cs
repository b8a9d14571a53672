using ComputeBank.Domain;

namespace ComputeBank.Api.Hosting;

/// <summary>The <c>Ledger</c> configuration section: the catalogue of resource classes and regions, the period
/// granularity and the conversion policy. Absent values fall back to <see cref="LedgerCatalogue.Default"/>.</summary>
public sealed class LedgerSettings
{
    public const string Section = "Ledger";

    public List<string>? ResourceClasses { get; set; }

    public List<string>? Regions { get; set; }

    public PeriodGranularity? PeriodGranularity { get; set; }

    public List<ConversionRuleSettings>? ConversionRules { get; set; }

    /// <summary>The catalogue, or an exception listing every invalid setting (the service does not start with one).</summary>
    public LedgerCatalogue ToCatalogue()
    {
        var defaults = LedgerCatalogue.Default;
        var rules = ConversionRules?.Select(r => r.ToRule()).ToList();
        var catalogue = new LedgerCatalogue(
            ResourceClasses is { Count: > 0 } classes ? classes : defaults.ResourceClasses,
            Regions is { Count: > 0 } regions ? regions : defaults.Regions,
            PeriodGranularity ?? defaults.PeriodGranularity,
            rules is { Count: > 0 } ? new ConversionPolicy(rules) : defaults.Conversion,
            defaults.SystemAccounts);
        var errors = catalogue.Validate();
        return errors.Count == 0
            ? catalogue
            : throw new InvalidOperationException(
                "Invalid 'Ledger' configuration: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")));
    }
}

/// <summary>One conversion rule as configured. <see cref="Rate"/> is text ("0.9"), so no binary floating point is involved.</summary>
public sealed class ConversionRuleSettings
{
    public string Name { get; set; } = "";

    public string Rate { get; set; } = "";

    public RegionChange Regions { get; set; } = RegionChange.Same;

    public int MinPeriodsAhead { get; set; }

    public int? MaxPeriodsAhead { get; set; }

    public bool WithinQuarter { get; set; }

    public ConversionRule ToRule() =>
        decimal.TryParse(Rate, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var rate)
            ? new ConversionRule(Name, rate, Regions, MinPeriodsAhead, MaxPeriodsAhead, WithinQuarter)
            : throw new InvalidOperationException($"Invalid 'Ledger:ConversionRules' rate '{Rate}' of rule '{Name}': write it as a decimal such as \"0.9\".");
}
