using System.Globalization;
using System.Text.Json;
using ComputeBank.Domain;

namespace ComputeBank.Api.Http;

/// <summary>
/// Reads the fields of a JSON request body one by one, collecting every problem as <c>errors: { field: [messages] }</c>
/// instead of stopping at the first. Amounts are read from the raw token text, never through a double.
/// </summary>
public sealed class Fields
{
    public const int MaxTextLength = 256;

    private readonly JsonElement _root;
    private readonly LedgerCatalogue _catalogue;
    private readonly string _prefix;
    private readonly Dictionary<string, List<string>> _errors;

    public Fields(JsonElement root, LedgerCatalogue catalogue)
        : this(root, catalogue, string.Empty, new Dictionary<string, List<string>>(StringComparer.Ordinal))
    {
    }

    // A nested object shares its parent's errors, with its field names prefixed ("settlement.amount").
    private Fields(JsonElement root, LedgerCatalogue catalogue, string prefix, Dictionary<string, List<string>> errors)
    {
        _root = root;
        _catalogue = catalogue;
        _prefix = prefix;
        _errors = errors;
    }

    public LedgerCatalogue Catalogue => _catalogue;

    public bool IsValid => _errors.Count == 0;

    public IReadOnlyDictionary<string, string[]> Errors => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);

    public void Add(string field, string message)
    {
        var key = _prefix + field;
        if (!_errors.TryGetValue(key, out var list))
        {
            _errors[key] = list = [];
        }

        list.Add(message);
    }

    public string? Text(string name, bool required = true, int maxLength = MaxTextLength)
    {
        if (!TryGet(name, required, out var element))
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            Add(name, "must be a string");
            return null;
        }

        var text = element.GetString()!;
        if (required && text.Length == 0)
        {
            Add(name, "must not be empty");
            return null;
        }

        if (text.Length > maxLength)
        {
            Add(name, $"must be at most {maxLength} characters");
            return null;
        }

        // Control characters (NUL among them, which PostgreSQL cannot store in text or jsonb) and bidirectional
        // formatting characters are refused in every text field, here at the edge and again by the domain.
        if (FreeText.Problem(text) is { } problem)
        {
            Add(name, problem);
            return null;
        }

        return text;
    }

    public T? Value<T>(string name, bool required = true)
        where T : class, IStringValue<T>
    {
        var text = Text(name, required);
        if (text is null)
        {
            return null;
        }

        if (!T.TryParse(text, out var value, out var error))
        {
            Add(name, error ?? "is not valid");
            return null;
        }

        return value;
    }

    public ResourceClass? ResourceClass(string name = "resourceClass")
    {
        var value = Value<ResourceClass>(name);
        if (value is not null && !_catalogue.HasResourceClass(value))
        {
            Add(name, $"unknown resource class '{value}'; known: {string.Join(", ", _catalogue.ResourceClasses)}");
            return null;
        }

        return value;
    }

    public Region? Region(string name = "region")
    {
        var value = Value<Region>(name);
        if (value is not null && !_catalogue.HasRegion(value))
        {
            Add(name, $"unknown region '{value}'; known: {string.Join(", ", _catalogue.Regions)}");
            return null;
        }

        return value;
    }

    public Period? Period(string name = "period", bool required = true)
    {
        var text = Text(name, required);
        if (text is null)
        {
            return null;
        }

        if (!Domain.Period.TryParse(text, out var period, out var error) || period.Granularity != _catalogue.PeriodGranularity)
        {
            Add(name, error ?? $"must be a {_catalogue.PeriodGranularity.ToString().ToLowerInvariant()} period");
            return null;
        }

        return period;
    }

    /// <summary>A bucket from <c>resourceClass</c>, <c>region</c> and <c>period</c> fields of this object.</summary>
    public Bucket? Bucket()
    {
        var resourceClass = ResourceClass();
        var region = Region();
        var period = Period();
        return resourceClass is null || region is null || period is null ? null : new Bucket(resourceClass, region, period);
    }

    /// <summary>The exact text of a number given as a JSON number or string (never read through a double).</summary>
    public string? NumberText(string name, bool required = true)
    {
        if (!TryGet(name, required, out var element))
        {
            return null;
        }

        var text = element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number => element.GetRawText(),
            _ => null,
        };
        if (text is null || text.Length > 64)
        {
            Add(name, "must be a number or a string such as \"12.5\"");
            return null;
        }

        return text;
    }

    /// <summary>An amount of hours: a JSON string or number, positive, at most 3 decimals, at most 1,000,000,000.</summary>
    public Hours? Hours(string name = "hours", bool required = true, bool allowZero = false)
    {
        var text = NumberText(name, required);
        if (text is null)
        {
            return null;
        }

        if (!Domain.Hours.TryParse(text, out var hours, out var error))
        {
            Add(name, error ?? "is not a valid amount");
            return null;
        }

        if (allowZero && hours.IsZero)
        {
            return hours;
        }

        if (hours.ValidateAmount() is { } invalid)
        {
            Add(name, invalid);
            return null;
        }

        return hours;
    }

    public DateTimeOffset? Timestamp(string name, bool required = true)
    {
        var text = Text(name, required, 64);
        if (text is null)
        {
            return null;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            || !text.Contains('T', StringComparison.Ordinal))
        {
            Add(name, "must be an ISO 8601 timestamp such as 2026-11-24T10:00:00Z");
            return null;
        }

        return value.ToUniversalTime();
    }

    /// <summary>One of a fixed set of lower-case words; anything else is refused, listing the allowed ones.</summary>
    public TEnum? Choice<TEnum>(string name, IReadOnlyDictionary<string, TEnum> allowed, bool required = true)
        where TEnum : struct
    {
        var text = Text(name, required, 64);
        if (text is null)
        {
            return null;
        }

        if (!allowed.TryGetValue(text, out var value))
        {
            Add(name, $"must be one of: {string.Join(", ", allowed.Keys)}");
            return null;
        }

        return value;
    }

    public bool? Boolean(string name, bool required = false)
    {
        if (!TryGet(name, required, out var element))
        {
            return null;
        }

        if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            Add(name, "must be true or false");
            return null;
        }

        return element.GetBoolean();
    }

    /// <summary>A nested object, read with its own field prefix (<c>settlement.amount</c>); null when absent.</summary>
    public Fields? Object(string name, bool required = false)
    {
        if (!TryGet(name, required, out var element))
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            Add(name, "must be an object");
            return null;
        }

        return new Fields(element, _catalogue, _prefix + name + ".", _errors);
    }

    private bool TryGet(string name, bool required, out JsonElement element)
    {
        if (_root.ValueKind == JsonValueKind.Object && _root.TryGetProperty(name, out element) && element.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        element = default;
        if (required)
        {
            Add(name, "is required");
        }

        return false;
    }
}
