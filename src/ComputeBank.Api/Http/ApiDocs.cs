using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Domain;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ComputeBank.Api.Http;

/// <summary>
/// The OpenAPI description of the API (<c>/openapi/v1.json</c>). The endpoints read raw JSON on purpose (see
/// <see cref="Fields"/>), so their bodies are declared here from documentation-only contract records; the error
/// responses are <c>application/problem+json</c> with <see cref="ApiProblem"/>'s schema and list their stable codes.
/// </summary>
public static partial class ApiDocs
{
    public const string Json = "application/json";
    public const string ProblemJson = "application/problem+json";
    public const string CommandsTag = "Commands";
    public const string QueriesTag = "Queries";

    private static readonly Dictionary<string, string> PathParameters = new(StringComparer.Ordinal)
    {
        ["accountId"] = "The account id.",
        ["holdId"] = "The hold id (the holdId it was placed with).",
        ["period"] = "The period, such as 2026-11.",
        ["resourceClass"] = "The resource class, such as gpu.h100 (from the configured catalogue).",
    };

    /// <summary>Registers the document, schema and operation transformers.</summary>
    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "ComputeBank API";
            document.Info.Version = "v1";
            document.Info.Description =
                "An event-sourced ledger of compute credits. JSON bodies use camelCase. Amounts (hours) are accepted as a JSON " +
                "string or number with at most 3 decimals and always returned as a string with exactly 3 decimals. Every " +
                "error is application/problem+json with a stable snake_case code. A command sent again with the same " +
                "operation id and fields answers the first status and body with header Idempotent-Replayed: true.";
            return Task.CompletedTask;
        });
        options.AddDocumentTransformer(TransformContracts);
        options.AddOperationTransformer(TransformOperation);
    }

    /// <summary>Documents a command endpoint: its request body, success answer, and the problems every command can answer
    /// (400 <c>validation_failed</c>/<c>malformed_json</c>, 409 <c>operation_id_conflict</c>, 413, 415, 503).</summary>
    public static RouteHandlerBuilder DocumentCommand<TRequest, TResponse>(
        this RouteHandlerBuilder builder, int successStatus, string summary, string description, bool bodyOptional = false, bool idempotencyKey = false)
        where TRequest : notnull
        where TResponse : notnull =>
        builder
            .WithTags(CommandsTag)
            .WithSummary(summary)
            .WithDescription(description)
            .WithMetadata(new CommandDocumentation(idempotencyKey))
            .Accepts<TRequest>(bodyOptional, Json)
            .Produces<TResponse>(successStatus, Json)
            .ProducesProblems(StatusCodes.Status400BadRequest, "validation_failed", "malformed_json")
            .ProducesProblems(StatusCodes.Status409Conflict, "operation_id_conflict")
            .ProducesProblems(StatusCodes.Status413PayloadTooLarge, "payload_too_large")
            .ProducesProblems(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type")
            .ProducesProblems(StatusCodes.Status503ServiceUnavailable, "service_unavailable");

    /// <summary>Declares a problem+json answer with <paramref name="status"/> and the stable codes it can carry
    /// (calling it again for the same status adds codes).</summary>
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder builder, int status, params string[] codes) =>
        builder.Produces<ApiProblem>(status, ProblemJson).WithMetadata(new ProblemCodes(status, codes));

    /// <summary>
    /// Applies the contracts' wire attributes to the finished component schemas. This runs over the whole document rather
    /// than as a schema transformer: a schema transformer that changes property schemas makes the generator inline the
    /// nested contract types instead of referencing them.
    /// </summary>
    private static Task TransformContracts(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var catalogue = context.ApplicationServices.GetRequiredService<LedgerCatalogue>();
        var contracts = typeof(ApiDocs).Assembly.GetTypes()
            .Where(t => t.IsPublic && !t.IsAbstract && t.Namespace?.StartsWith("ComputeBank.Api", StringComparison.Ordinal) == true)
            .GroupBy(t => t.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var (name, component) in document.Components?.Schemas ?? new Dictionary<string, IOpenApiSchema>())
        {
            if (!contracts.TryGetValue(name, out var type) || component is not OpenApiSchema schema || schema.Properties is not { } properties)
            {
                continue;
            }

            schema.Description = OneLine(schema.Description);

            foreach (var property in type.GetProperties())
            {
                var jsonName = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
                if (properties.TryGetValue(jsonName, out var propertySchema))
                {
                    properties[jsonName] = Apply(property, propertySchema, catalogue, document);
                }
            }
        }

        return Task.CompletedTask;
    }

    private static IOpenApiSchema Apply(PropertyInfo property, IOpenApiSchema propertySchema, LedgerCatalogue catalogue, OpenApiDocument document)
    {
        if (property.GetCustomAttribute<AnyOfContractsAttribute>() is { } anyOf)
        {
            return new OpenApiSchema
            {
                Description = OneLine(propertySchema.Description ?? propertySchema.OneOf?.Select(o => o.Description).FirstOrDefault(d => d is not null)),
                AnyOf = [.. anyOf.Types.Select(t => (IOpenApiSchema)new OpenApiSchemaReference(t.Name, document))],
            };
        }

        if (propertySchema is not OpenApiSchema schema)
        {
            return propertySchema;
        }

        schema.Description = OneLine(schema.Description);

        foreach (var attribute in property.GetCustomAttributes(inherit: true))
        {
            switch (attribute)
            {
                case HoursInputAttribute hours:
                    schema.Type = (schema.Type & JsonSchemaType.Null) | JsonSchemaType.String | JsonSchemaType.Number;
                    schema.Pattern = $"^[0-9]+(\\.[0-9]{{1,{hours.MaxDecimals}}})?$";
                    schema.Examples = hours.MaxDecimals == 3 ? [JsonValue.Create("12.5"), JsonValue.Create(12.5m)] : [JsonValue.Create("1200.00")];
                    break;
                case HoursValueAttribute:
                    schema.Pattern = WirePatterns.HoursValue;
                    schema.Examples = [JsonValue.Create("12.500")];
                    break;
                case UtcTimestampAttribute:
                    schema.Format = "date-time";
                    break;
                case CatalogueValueAttribute catalogueValue:
                    var values = catalogueValue.List == CatalogueList.Regions ? catalogue.Regions : catalogue.ResourceClasses;
                    schema.Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))];
                    break;
                case AllowedValuesAttribute allowed:
                    schema.Enum = [.. allowed.Values.Select(v => (JsonNode)JsonValue.Create(Convert.ToString(v, CultureInfo.InvariantCulture))!)];
                    break;
            }
        }

        if (property.DeclaringType == typeof(Features.SubmittingBatches.BatchCommand) && property.Name == nameof(Features.SubmittingBatches.BatchCommand.Type))
        {
            schema.Enum = [.. Features.LedgerFeatures.Kinds.Keys.Order(StringComparer.Ordinal).Select(k => (JsonNode)JsonValue.Create(k))];
        }

        return schema;
    }

    private static Task TransformOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        foreach (var group in metadata.OfType<ProblemCodes>().GroupBy(p => p.Status))
        {
            if (operation.Responses?.TryGetValue(group.Key.ToString(CultureInfo.InvariantCulture), out var response) == true && response is OpenApiResponse problem)
            {
                var codes = group.SelectMany(p => p.Codes).Distinct(StringComparer.Ordinal);
                problem.Description = $"{Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(group.Key)}. code: {string.Join(", ", codes)}";
            }
        }

        // The command endpoints read their route values with the body, so the generator does not see them as parameters.
        foreach (var name in RouteParameterPattern().Matches(context.Description.RelativePath ?? "").Select(m => m.Groups[1].Value))
        {
            operation.Parameters ??= [];
            if (!operation.Parameters.Any(p => p.In == ParameterLocation.Path && p.Name == name))
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = name, In = ParameterLocation.Path, Required = true, Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }
        }

        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            if (parameter.In == ParameterLocation.Path && PathParameters.TryGetValue(parameter.Name ?? "", out var description))
            {
                parameter.Description = description;
            }
        }

        if (metadata.OfType<CommandDocumentation>().FirstOrDefault() is not { } command)
        {
            return Task.CompletedTask;
        }

        if (command.IdempotencyKey)
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = "Idempotency-Key",
                In = ParameterLocation.Header,
                Required = false,
                Description = "The operation id of this command (1 to 128 printable ASCII characters), unless the body has an " +
                              "operationId field. Without either, a retry is a new command.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 128 },
            });
        }

        foreach (var (status, response) in operation.Responses ?? [])
        {
            // Successes and business refusals are remembered and replayed; validation, conflict and transport problems are not.
            if (response is OpenApiResponse answer && (status.StartsWith('2') || status is "404" or "422"))
            {
                answer.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.Ordinal);
                answer.Headers["Idempotent-Replayed"] = new OpenApiHeader
                {
                    Description = "true when this is the stored answer of an earlier submission with the same operation id.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("true")] },
                };
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>XML doc summaries keep their source line breaks and indentation; the document shows them as one line.</summary>
    private static string? OneLine(string? text) => text is null ? null : LineBreakPattern().Replace(text, " ");

    [GeneratedRegex("\\s*\\n\\s*")]
    private static partial Regex LineBreakPattern();

    [GeneratedRegex("\\{([A-Za-z]+)[^}]*\\}")]
    private static partial Regex RouteParameterPattern();

    /// <summary>The stable problem codes one status of an endpoint can carry.</summary>
    private sealed record ProblemCodes(int Status, IReadOnlyList<string> Codes);

    /// <summary>Marks a command endpoint (documented with <see cref="DocumentCommand{TRequest,TResponse}"/>).</summary>
    private sealed record CommandDocumentation(bool IdempotencyKey);
}
