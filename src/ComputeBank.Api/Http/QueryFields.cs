using System.Globalization;
using ComputeBank.Domain;

namespace ComputeBank.Api.Http;

/// <summary>Reads query-string parameters of the GET endpoints, collecting every problem per field (400 validation_failed).</summary>
internal sealed class QueryFields(IQueryCollection query)
{
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public IReadOnlyDictionary<string, string[]> Errors => _errors;

    public bool Has(string name) => query.ContainsKey(name);

    public void Add(string field, string message) =>
        _errors[field] = _errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent.</summary>
    public long? Integer(string name, long? fallback, long min, long max = long.MaxValue)
    {
        if (!query.TryGetValue(name, out var values))
        {
            return fallback;
        }

        if (values.Count != 1 || !long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            Add(name, "must be a whole number");
            return null;
        }

        if (value < min || value > max)
        {
            Add(name, max == long.MaxValue ? $"must be at least {min}" : $"must be between {min} and {max}");
            return null;
        }

        return value;
    }

    /// <summary>A single text value, or null when absent (a missing required value is reported).</summary>
    public string? Text(string name, bool required = false, int maxLength = 128)
    {
        if (!query.TryGetValue(name, out var values) || values.Count == 0)
        {
            if (required)
            {
                Add(name, "is required");
            }

            return null;
        }

        if (values.Count != 1 || string.IsNullOrEmpty(values[0]) || values[0]!.Length > maxLength || FreeText.Problem(values[0]!) is not null)
        {
            Add(name, $"must be given once, 1 to {maxLength} printable characters");
            return null;
        }

        return values[0];
    }

    /// <summary>One of <paramref name="allowed"/>, or <paramref name="fallback"/> when absent.</summary>
    public string? Choice(string name, IReadOnlyList<string> allowed, string? fallback)
    {
        var text = Text(name);
        if (text is null)
        {
            return Has(name) ? null : fallback;
        }

        if (!allowed.Contains(text, StringComparer.Ordinal))
        {
            Add(name, $"must be one of: {string.Join(", ", allowed)}");
            return null;
        }

        return text;
    }

    /// <summary>An ISO 8601 timestamp (UTC when it carries no offset), or null when absent.</summary>
    public DateTimeOffset? Timestamp(string name)
    {
        if (!query.TryGetValue(name, out var values))
        {
            return null;
        }

        if (values.Count != 1 || string.IsNullOrEmpty(values[0]) || values[0]!.Length < 10 || values[0]![4] != '-' ||
            !DateTimeOffset.TryParse(values[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            Add(name, "must be an ISO 8601 timestamp such as 2026-11-05T10:00:00Z");
            return null;
        }

        return at;
    }

    public IResult Problem() => Problems.Validation(_errors);
}
