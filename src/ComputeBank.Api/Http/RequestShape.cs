using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ComputeBank.Api.Contracts;

namespace ComputeBank.Api.Http;

/// <summary>What a JSON token of a request property must be.</summary>
public enum WireKind
{
    /// <summary>A JSON string.</summary>
    Text,

    /// <summary>An amount (<see cref="HoursInputAttribute"/>): a JSON string or number, read from its raw text.</summary>
    Amount,

    /// <summary>A nested request record: a JSON object.</summary>
    Object,

    /// <summary>A JSON <c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>A JSON number without a fraction that fits a 32-bit integer.</summary>
    Integer,

    /// <summary>A JSON array of strings.</summary>
    TextList,
}

/// <summary>One property of a request record as the wire sees it, taken from the contract's JSON metadata (the project's
/// options, the same the OpenAPI document is generated from): its JSON name, whether it is <c>required</c>, its kind,
/// its length limit from <c>[MaxLength]</c>/<c>[StringLength]</c>, and whether the single endpoint takes it from the path.</summary>
public sealed record WireProperty(string Name, PropertyInfo Property, bool Required, WireKind Kind, int? MaxLength, bool FromPath, RequestShape? Nested);

/// <summary>
/// The wire shape of a request record, derived once per type from <see cref="ContractJson.Options"/>: the same metadata the
/// OpenAPI document shows, so what a body must look like is declared once, on the record.
/// </summary>
public sealed class RequestShape
{
    private static readonly ConcurrentDictionary<Type, RequestShape> Shapes = new();

    // The project's options with their (reflection) contract resolver spelled out, so that their metadata can be asked for.
    private static readonly JsonSerializerOptions Contract = new(ContractJson.Options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    private RequestShape(Type type, IReadOnlyList<WireProperty> properties)
    {
        Type = type;
        Properties = properties;
        ByName = properties.ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    public Type Type { get; }

    /// <summary>The properties in declaration order.</summary>
    public IReadOnlyList<WireProperty> Properties { get; }

    public IReadOnlyDictionary<string, WireProperty> ByName { get; }

    /// <summary>True when every property the body itself carries is optional (path values aside): the body may be left out.</summary>
    public bool BodyOptional => Properties.All(p => p.FromPath || !p.Required);

    public static RequestShape Of(Type type) => Shapes.GetOrAdd(type, Build);

    /// <summary>The property behind a C# property name or expression (<c>Hours</c>, <c>request.Hours</c>).</summary>
    public WireProperty Named(string expression) => _named.GetOrAdd(expression, Resolve);

    private readonly ConcurrentDictionary<string, WireProperty> _named = new(StringComparer.Ordinal);

    private WireProperty Resolve(string expression)
    {
        var name = JsonNamingPolicy.CamelCase.ConvertName(expression[(expression.LastIndexOf('.') + 1)..]);
        return ByName.TryGetValue(name, out var property)
            ? property
            : throw new InvalidOperationException($"{Type.Name} has no property '{name}' (from '{expression}').");
    }

    private static RequestShape Build(Type type)
    {
        var info = Contract.GetTypeInfo(type);
        if (info.Kind != JsonTypeInfoKind.Object)
        {
            throw new InvalidOperationException($"{type.Name} is not a request record.");
        }

        return new RequestShape(type, [.. info.Properties.Select(p => Describe(type, p))]);
    }

    private static WireProperty Describe(Type owner, JsonPropertyInfo json)
    {
        var property = json.AttributeProvider as PropertyInfo
                       ?? throw new InvalidOperationException($"{owner.Name}.{json.Name} is not a property.");
        var maxLength = property.GetCustomAttribute<MaxLengthAttribute>()?.Length ?? property.GetCustomAttribute<StringLengthAttribute>()?.MaximumLength;
        var fromPath = property.GetCustomAttribute<PathValueAttribute>() is not null;
        if (json.PropertyType == typeof(string))
        {
            var kind = property.GetCustomAttribute<HoursInputAttribute>() is null ? WireKind.Text : WireKind.Amount;
            return new WireProperty(json.Name, property, json.IsRequired, kind, maxLength, fromPath, null);
        }

        var scalar = Nullable.GetUnderlyingType(json.PropertyType) ?? json.PropertyType;
        if (scalar == typeof(bool) || scalar == typeof(int))
        {
            return new WireProperty(json.Name, property, json.IsRequired, scalar == typeof(bool) ? WireKind.Boolean : WireKind.Integer, null, fromPath, null);
        }

        if (json.PropertyType == typeof(IReadOnlyList<string>))
        {
            return new WireProperty(json.Name, property, json.IsRequired, WireKind.TextList, maxLength, fromPath, null);
        }

        if (json.PropertyType.IsClass && Contract.GetTypeInfo(json.PropertyType).Kind == JsonTypeInfoKind.Object)
        {
            return new WireProperty(json.Name, property, json.IsRequired, WireKind.Object, null, fromPath, Of(json.PropertyType));
        }

        throw new InvalidOperationException($"{owner.Name}.{property.Name}: a request property is a string, an amount, a boolean, an int, a list of strings or a nested record, not {json.PropertyType.Name}.");
    }
}
