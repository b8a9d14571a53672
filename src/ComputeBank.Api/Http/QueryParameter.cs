using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace ComputeBank.Api.Http;

/// <summary>The wire types of the query parameters the GET endpoints read (<see cref="QueryFields"/>).</summary>
public enum QueryParameterType
{
    Int32,
    Int64,
    Boolean,
    Timestamp,
    Text,
}

/// <summary>
/// A query-string parameter an endpoint reads from the raw query, declared with <see cref="ApiDocs.AcceptsQuery"/> so
/// that /openapi/v1.json describes it (the handlers read <see cref="HttpRequest.Query"/> themselves, which the generator
/// does not see).
/// </summary>
public sealed record QueryParameter(
    string Name, string Description, QueryParameterType Type, long? Minimum = null, long? Maximum = null, object? Default = null,
    bool Required = false, IReadOnlyList<string>? AllowedValues = null)
{
    public OpenApiParameter ToOpenApi()
    {
        var schema = Type switch
        {
            QueryParameterType.Int32 => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
            QueryParameterType.Int64 => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64" },
            QueryParameterType.Boolean => new OpenApiSchema { Type = JsonSchemaType.Boolean },
            QueryParameterType.Text => new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Enum = AllowedValues is null ? null : [.. AllowedValues.Select(v => (JsonNode)JsonValue.Create(v))],
            },
            _ => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        };
        schema.Minimum = Minimum?.ToString(CultureInfo.InvariantCulture);
        schema.Maximum = Maximum?.ToString(CultureInfo.InvariantCulture);
        schema.Default = Default switch
        {
            null => null,
            bool flag => JsonValue.Create(flag),
            string text => JsonValue.Create(text),
            _ => JsonValue.Create(Convert.ToInt64(Default, CultureInfo.InvariantCulture)),
        };
        return new OpenApiParameter { Name = Name, In = ParameterLocation.Query, Required = Required, Description = Description, Schema = schema };
    }
}
