using System.Globalization;
using System.Runtime.CompilerServices;
using ComputeBank.Api.Features;
using ComputeBank.Domain;

namespace ComputeBank.Api.Http;

/// <summary>
/// Validates the values of a request record after it was read, collecting every problem as
/// <c>errors: { field: [messages] }</c> instead of stopping at the first. Each check is given a property of the record
/// (<c>check.Hours(Hours)</c>): the field's JSON name, whether it is <c>required</c> and its length limit come from the
/// record's declaration (<see cref="RequestShape"/>), the same that the OpenAPI document shows. A property refused while
/// reading (a token of the wrong kind) is left null and not reported again.
/// </summary>
public sealed class RequestCheck
{
    public const int MaxTextLength = 256;

    /// <summary>Length limit of words (choices) and timestamps.</summary>
    public const int MaxWordLength = 64;

    /// <summary>Length limit of an amount's text.</summary>
    public const int MaxAmountLength = 64;

    public const string AmountMessage = "must be a number or a string such as \"12.5\"";

    private readonly RequestShape _shape;
    private readonly string _prefix;
    private readonly Dictionary<string, List<string>> _errors;

    public RequestCheck(RequestShape shape, LedgerCatalogue catalogue)
        : this(shape, catalogue, string.Empty, new Dictionary<string, List<string>>(StringComparer.Ordinal))
    {
    }

    // A nested record shares its parent's errors, with its field names prefixed ("settlement.amount").
    private RequestCheck(RequestShape shape, LedgerCatalogue catalogue, string prefix, Dictionary<string, List<string>> errors)
    {
        _shape = shape;
        Catalogue = catalogue;
        _prefix = prefix;
        _errors = errors;
    }

    public LedgerCatalogue Catalogue { get; }

    public bool IsValid => _errors.Count == 0;

    public IReadOnlyDictionary<string, string[]> Errors => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);

    /// <summary>Records a problem of a property, named by its C# name (<c>nameof(ExpiresAt)</c>).</summary>
    public void Add(string property, string message) => AddAt(_shape.Named(property).Name, message);

    internal void AddAt(string jsonName, string message)
    {
        var key = _prefix + jsonName;
        if (!_errors.TryGetValue(key, out var list))
        {
            _errors[key] = list = [];
        }

        list.Add(message);
    }

    internal RequestCheck Child(WireProperty property) =>
        new(property.Nested ?? throw new InvalidOperationException($"{property.Name} is not a nested record."), Catalogue, _prefix + property.Name + ".", _errors);

    /// <summary>A text field: not empty when required, within its length limit, no control or bidi formatting characters.</summary>
    public string? Text(string? value, int? maxLength = null, bool? required = null, [CallerArgumentExpression(nameof(value))] string property = "") =>
        TextOf(value, _shape.Named(property), maxLength, required);

    public AccountId? AccountId(string? value, bool? required = null, [CallerArgumentExpression(nameof(value))] string property = "") =>
        ValueOf<AccountId>(value, _shape.Named(property), required);

    public OperationId? OperationId(string? value, [CallerArgumentExpression(nameof(value))] string property = "") =>
        ValueOf<OperationId>(value, _shape.Named(property), null);

    /// <summary>
    /// An operation id from its body field, or else from the <c>Idempotency-Key</c> header, or else a new one named
    /// <paramref name="fallbackPrefix"/><c>:{guid}</c> (for commands whose body need not carry an operation id).
    /// </summary>
    public OperationId? OperationIdOrKey(string? value, CommandContext context, string fallbackPrefix, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        var wire = _shape.Named(property);
        if (value is not null && TextOf(value, wire, null, required: false) is not null)
        {
            return ValueOf<OperationId>(value, wire, required: true);
        }

        var text = context.IdempotencyKey ?? fallbackPrefix + ":" + Guid.NewGuid().ToString("N");
        if (!Domain.OperationId.TryParse(text, out var id, out var error))
        {
            AddAt(wire.Name, error ?? "is not a valid operation id");
        }

        return id;
    }

    public ResourceClass? ResourceClass(string? value, [CallerArgumentExpression(nameof(value))] string property = "") =>
        CatalogueValue<ResourceClass>(value, _shape.Named(property), "resource class", Catalogue.HasResourceClass, Catalogue.ResourceClasses);

    public Region? Region(string? value, [CallerArgumentExpression(nameof(value))] string property = "") =>
        CatalogueValue<Region>(value, _shape.Named(property), "region", Catalogue.HasRegion, Catalogue.Regions);

    /// <summary>A period of the catalogue's granularity.</summary>
    public Period? Period(string? value, bool? required = null, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        var wire = _shape.Named(property);
        var text = TextOf(value, wire, null, required);
        if (text is null)
        {
            return null;
        }

        if (!Domain.Period.TryParse(text, out var period, out var error) || period.Granularity != Catalogue.PeriodGranularity)
        {
            AddAt(wire.Name, error ?? $"must be a {Catalogue.PeriodGranularity.ToString().ToLowerInvariant()} period");
            return null;
        }

        return period;
    }

    /// <summary>A bucket from its resource class, region and period properties.</summary>
    public Bucket? Bucket(
        string? resourceClass, string? region, string? period,
        [CallerArgumentExpression(nameof(resourceClass))] string resourceClassProperty = "",
        [CallerArgumentExpression(nameof(region))] string regionProperty = "",
        [CallerArgumentExpression(nameof(period))] string periodProperty = "")
    {
        var rc = ResourceClass(resourceClass, resourceClassProperty);
        var r = Region(region, regionProperty);
        var p = Period(period, property: periodProperty);
        return rc is null || r is null || p is null ? null : new Bucket(rc, r, p);
    }

    /// <summary>The exact text of an amount (a JSON number or string, read from its raw token text), at most 64 characters.</summary>
    public string? Amount(string? value, [CallerArgumentExpression(nameof(value))] string property = "") => AmountOf(value, _shape.Named(property));

    /// <summary>An amount of hours: positive (or zero when <paramref name="allowZero"/>), at most 3 decimals, at most 1,000,000,000.</summary>
    public Hours? Hours(string? value, bool allowZero = false, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        var wire = _shape.Named(property);
        var text = AmountOf(value, wire);
        if (text is null)
        {
            return null;
        }

        if (!Domain.Hours.TryParse(text, out var hours, out var error))
        {
            AddAt(wire.Name, error ?? "is not a valid amount");
            return null;
        }

        if (allowZero && hours.IsZero)
        {
            return hours;
        }

        if (hours.ValidateAmount() is { } invalid)
        {
            AddAt(wire.Name, invalid);
            return null;
        }

        return hours;
    }

    /// <summary>A CNY amount or price: more than 0, at most <paramref name="max"/>, at most 2 decimals (a JSON string such as
    /// <c>"12.50"</c> or a number, read from its raw text).</summary>
    public decimal? Money(string? value, decimal max, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        var wire = _shape.Named(property);
        var text = AmountOf(value, wire);
        if (text is null)
        {
            return null;
        }

        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || amount <= 0 || amount.Scale > 2 || amount > max)
        {
            AddAt(wire.Name, $"must be a positive CNY amount of at most {max.ToString("N0", CultureInfo.InvariantCulture)} with at most 2 decimals, such as \"12.50\"");
            return null;
        }

        return amount;
    }

    /// <summary>A whole number within [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent.</summary>
    public int WholeNumber(int? value, int min, int max, int fallback, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        if (value is null)
        {
            return fallback;
        }

        if (value < min || value > max)
        {
            AddAt(_shape.Named(property).Name, $"must be a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        }

        return value.Value;
    }

    /// <summary>Regions of the catalogue, each named once; an absent list is empty.</summary>
    public IReadOnlyList<Region> Regions(IReadOnlyList<string>? values, [CallerArgumentExpression(nameof(values))] string property = "")
    {
        var wire = _shape.Named(property);
        if (values is null)
        {
            return [];
        }

        var regions = new List<Region>();
        for (var i = 0; i < values.Count; i++)
        {
            if (values[i] is not { } text || !Domain.Region.TryParse(text, out var region, out _) || !Catalogue.HasRegion(region))
            {
                AddAt($"{wire.Name}[{i}]", $"unknown region '{values[i]}'; known: {string.Join(", ", Catalogue.Regions)}");
            }
            else if (regions.Contains(region))
            {
                AddAt($"{wire.Name}[{i}]", $"region '{values[i]}' is named twice");
            }
            else
            {
                regions.Add(region);
            }
        }

        return regions;
    }

    /// <summary>An ISO 8601 timestamp with a time part, as UTC.</summary>
    public DateTimeOffset? Timestamp(string? value, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        var wire = _shape.Named(property);
        var text = TextOf(value, wire, MaxWordLength, null);
        if (text is null)
        {
            return null;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var timestamp)
            || !text.Contains('T', StringComparison.Ordinal))
        {
            AddAt(wire.Name, "must be an ISO 8601 timestamp such as 2026-11-24T10:00:00Z");
            return null;
        }

        return timestamp.ToUniversalTime();
    }

    /// <summary>One of a fixed set of lower-case words; anything else is refused, listing the allowed ones.</summary>
    public TEnum? Choice<TEnum>(string? value, IReadOnlyDictionary<string, TEnum> allowed, [CallerArgumentExpression(nameof(value))] string property = "")
        where TEnum : struct
    {
        var wire = _shape.Named(property);
        var text = TextOf(value, wire, MaxWordLength, null);
        if (text is null)
        {
            return null;
        }

        if (!allowed.TryGetValue(text, out var choice))
        {
            AddAt(wire.Name, $"must be one of: {string.Join(", ", allowed.Keys)}");
            return null;
        }

        return choice;
    }

    /// <summary>The check of a nested record (its fields prefixed <c>settlement.</c>); null when it is absent.</summary>
    public RequestCheck? Nested(object? value, [CallerArgumentExpression(nameof(value))] string property = "")
    {
        var wire = _shape.Named(property);
        return Present(value, wire, null) ? Child(wire) : null;
    }

    /// <summary>A value that must be one of the configured catalogue's (always required).</summary>
    private T? CatalogueValue<T>(string? value, WireProperty wire, string what, Func<T, bool> known, IEnumerable<string> all)
        where T : class, IStringValue<T>
    {
        var parsed = ValueOf<T>(value, wire, required: true);
        if (parsed is not null && !known(parsed))
        {
            AddAt(wire.Name, $"unknown {what} '{parsed}'; known: {string.Join(", ", all)}");
            return null;
        }

        return parsed;
    }

    private T? ValueOf<T>(string? value, WireProperty wire, bool? required)
        where T : class, IStringValue<T>
    {
        var text = TextOf(value, wire, null, required);
        if (text is null)
        {
            return null;
        }

        if (!T.TryParse(text, out var parsed, out var error))
        {
            AddAt(wire.Name, error ?? "is not valid");
            return null;
        }

        return parsed;
    }

    private string? TextOf(string? value, WireProperty wire, int? maxLength, bool? required)
    {
        var mustHave = required ?? wire.Required;
        if (!Present(value, wire, mustHave))
        {
            return null;
        }

        if (mustHave && value!.Length == 0)
        {
            AddAt(wire.Name, "must not be empty");
            return null;
        }

        var limit = maxLength ?? wire.MaxLength ?? MaxTextLength;
        if (value!.Length > limit)
        {
            AddAt(wire.Name, $"must be at most {limit} characters");
            return null;
        }

        // Control characters (NUL among them, which PostgreSQL cannot store in text or jsonb) and bidirectional
        // formatting characters are refused in every text field, here at the edge and again by the domain.
        if (FreeText.Problem(value) is { } problem)
        {
            AddAt(wire.Name, problem);
            return null;
        }

        return value;
    }

    private string? AmountOf(string? value, WireProperty wire)
    {
        if (!Present(value, wire, null))
        {
            return null;
        }

        if (value!.Length > MaxAmountLength)
        {
            AddAt(wire.Name, AmountMessage);
            return null;
        }

        return value;
    }

    /// <summary>Whether the value is there; an absent (or null) required value is reported, unless reading refused it already.</summary>
    private bool Present(object? value, WireProperty wire, bool? required)
    {
        if (value is not null)
        {
            return true;
        }

        if ((required ?? wire.Required) && !_errors.ContainsKey(_prefix + wire.Name))
        {
            AddAt(wire.Name, "is required");
        }

        return false;
    }
}
