using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ComputeBank.Api.Http;

/// <summary>
/// The OpenAPI description of the API (<c>/openapi/v1.json</c>). A command's body is its request record, the same the
/// endpoint reads and validates (<see cref="RequestReader"/>, <see cref="RequestCheck"/>); the error responses are
/// <c>application/problem+json</c> with <see cref="ApiProblem"/>'s schema and list their stable codes.
/// </summary>
public static partial class ApiDocs
{
    public const string Json = "application/json";
    public const string ProblemJson = "application/problem+json";
    public const string CommandsTag = "Commands";
    public const string QueriesTag = "Queries";

    /// <summary>The name of the bearer JWT security scheme in <c>components.securitySchemes</c>.</summary>
    public const string BearerScheme = "bearer";

    /// <summary>The operation extension listing the roles (token claim <c>role</c>) that may call the operation.</summary>
    public const string RolesExtension = "x-computebank-roles";

    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        [CommandsTag] = "Commands that change the ledger: answered when committed, or 202 with Prefer: respond-async.",
        [QueriesTag] = "Reads of accounts, balances as of an instant, history, holds, pools, the event feed and the audit.",
        ["Operations"] = "The durable queue's dead letters (operators).",
        ["Health"] = "Liveness and readiness for load balancers; anonymous.",
    };

    private static readonly Dictionary<string, (string Description, string? Pattern)> PathParameters = new(StringComparer.Ordinal)
    {
        ["accountId"] = ("The account id.", WirePatterns.AccountId),
        ["holdId"] = ("The hold id (the holdId it was placed with).", WirePatterns.OperationId),
        ["operationId"] = ("The operation id.", WirePatterns.OperationId),
        ["period"] = ("The period, such as 2026-11.", WirePatterns.Period),
        ["region"] = ("The region, such as beijing (from the configured catalogue).", null),
        ["resourceClass"] = ("The resource class, such as gpu.h100 (from the configured catalogue).", null),
        ["id"] = ("The dead letter's id.", null),
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
            // The document is served by the API itself: its operations are relative to the host that served it.
            document.Servers = [new OpenApiServer { Url = "/", Description = "The host that served this document." }];
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "A JWT in Authorization: Bearer <token>. Claims: sub (the caller), role (provider, consumer, auditor, " +
                              "operator; each operation lists the roles it takes in x-computebank-roles and its description), owner " +
                              "(the party whose accounts a provider or consumer may act on and read: an account's ownerId).",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] }];
            foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
            {
                if (tag.Name is { } name && TagDescriptions.TryGetValue(name, out var description))
                {
                    tag.Description = description;
                }
            }

            return Task.CompletedTask;
        });
        options.AddDocumentTransformer(TransformContracts);
        options.AddOperationTransformer(TransformOperation);
    }

    /// <summary>Documents a command endpoint from its kind: its request body, success answer, the problems every command
    /// can answer (400 <c>validation_failed</c>/<c>malformed_json</c>, 409 <c>operation_id_conflict</c>, 413, 415, 503)
    /// and then its own.</summary>
    public static RouteHandlerBuilder DocumentCommand(this RouteHandlerBuilder builder, Features.CommandKind kind)
    {
        builder
            .WithTags(CommandsTag)
            .WithSummary(kind.Summary)
            .WithDescription(kind.Description)
            .WithMetadata(new CommandDocumentation(kind.IdempotencyKey))
            .WithMetadata(new RespondAsync(typeof(CommandAccepted)))
            .Accepts(kind.RequestType, kind.Shape.BodyOptional, Json)
            .Produces(kind.SuccessStatus, kind.Response, Json)
            .ProducesProblems(StatusCodes.Status400BadRequest, "validation_failed", "malformed_json")
            .ProducesProblems(StatusCodes.Status409Conflict, "operation_id_conflict")
            .ProducesProblems(StatusCodes.Status413PayloadTooLarge, "payload_too_large")
            .ProducesProblems(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type")
            .ProducesProblems(StatusCodes.Status503ServiceUnavailable, "service_unavailable");
        foreach (var problem in kind.Problems)
        {
            builder.ProducesProblems(problem.Status, [.. problem.Codes]);
        }

        return builder;
    }

    /// <summary>Declares a problem+json answer with <paramref name="status"/> and the stable codes it can carry
    /// (calling it again for the same status adds codes).</summary>
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder builder, int status, params string[] codes) =>
        builder.Produces<ApiProblem>(status, ProblemJson).WithMetadata(new ProblemCodes(status, codes));

    /// <summary>Declares a query-string parameter the endpoint reads (the GET endpoints read them from the raw query).</summary>
    public static RouteHandlerBuilder AcceptsQuery(this RouteHandlerBuilder builder, QueryParameter parameter) => builder.WithMetadata(parameter);

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
        var schemas = document.Components?.Schemas ?? new Dictionary<string, IOpenApiSchema>();
        // Not thread-safe: one per document, as requests for the document may be served at the same time.
        var nullability = new NullabilityInfoContext();
        foreach (var (name, component) in schemas)
        {
            if (!contracts.TryGetValue(name, out var type) || component is not OpenApiSchema schema || schema.Properties is not { } properties)
            {
                continue;
            }

            schema.Description = OneLine(schema.Description);

            foreach (var property in type.GetProperties().Where(p => p.IsDefined(typeof(PathValueAttribute))))
            {
                // Taken from the path by the command's own endpoint: the path parameter documents it, not the body.
                var jsonName = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
                properties.Remove(jsonName);
                schema.Required?.Remove(jsonName);
            }

            if (schema.Required is { Count: 0 })
            {
                schema.Required = null;
            }

            foreach (var property in type.GetProperties())
            {
                var jsonName = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
                if (properties.TryGetValue(jsonName, out var propertySchema))
                {
                    properties[jsonName] = Apply(property, propertySchema, catalogue, document, nullability);
                }
            }
        }

        // Free-form JSON objects (event data, command bodies) are declared inline where they are used (see Apply).
        schemas.Remove(nameof(System.Text.Json.Nodes.JsonObject));
        return Task.CompletedTask;
    }

    private static IOpenApiSchema Apply(
        PropertyInfo property, IOpenApiSchema propertySchema, LedgerCatalogue catalogue, OpenApiDocument document, NullabilityInfoContext nullability)
    {
        // Null on the wire only when the property is nullable and written even when null.
        var nullable = nullability.Create(property).WriteState == NullabilityState.Nullable &&
                       property.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null;
        var description = OneLine(propertySchema.Description ?? propertySchema.OneOf?.Select(o => o.Description).FirstOrDefault(d => d is not null));
        if (property.GetCustomAttribute<AnyOfContractsAttribute>() is { } anyOf)
        {
            var alternatives = anyOf.Types.Select(t => (IOpenApiSchema)new OpenApiSchemaReference(t.Name, document)).ToList();
            if (nullable)
            {
                alternatives.Add(new OpenApiSchema { Type = JsonSchemaType.Null });
            }

            return alternatives.Count == 1
                ? new OpenApiSchemaReference(anyOf.Types[0].Name, document) { Description = description }
                : new OpenApiSchema { Description = description, AnyOf = alternatives };
        }

        if (property.PropertyType == typeof(System.Text.Json.Nodes.JsonObject))
        {
            return new OpenApiSchema
            {
                Type = nullable ? JsonSchemaType.Object | JsonSchemaType.Null : JsonSchemaType.Object,
                Description = description,
                AdditionalProperties = new OpenApiSchema(),
            };
        }

        if (propertySchema is OpenApiSchemaReference reference)
        {
            return nullable
                ? new OpenApiSchema { Description = description, AnyOf = [new OpenApiSchemaReference(reference.Reference.Id!, document), new OpenApiSchema { Type = JsonSchemaType.Null }] }
                : propertySchema;
        }

        if (propertySchema is not OpenApiSchema schema)
        {
            return propertySchema;
        }

        // The web serializer options let numbers be read from strings, so the generator types every integer as
        // "integer or string" with a digits pattern; the API only ever writes JSON numbers.
        if (schema.Type is { } declared && declared.HasFlag(JsonSchemaType.Integer) && declared.HasFlag(JsonSchemaType.String))
        {
            schema.Type = declared & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        schema.Description = OneLine(schema.Description);

        DescribeValues(schema, property, catalogue);

        if (property.DeclaringType == typeof(Features.SubmittingBatches.BatchCommand) && property.Name == nameof(Features.SubmittingBatches.BatchCommand.Type))
        {
            schema.Enum = [.. Features.CommandRegistry.Offered.Select(k => k.Type).Order(StringComparer.Ordinal).Select(k => (JsonNode)JsonValue.Create(k))];
        }

        return schema;
    }

    // What the wire format of a value says beyond its CLR type: hours as decimal strings, UTC timestamps, the
    // catalogue's regions and resource classes, fixed sets of values.
    private static void DescribeValues(OpenApiSchema schema, PropertyInfo property, LedgerCatalogue catalogue)
    {
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
    }

    private static Task TransformOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        DocumentProblemCodes(operation, metadata);
        DocumentParameters(operation, context.Description.RelativePath, metadata);
        DocumentSecurity(operation, context);
        if (metadata.OfType<RespondAsync>().FirstOrDefault() is { } respondAsync)
        {
            DocumentRespondAsync(operation, respondAsync, context.Document!);
        }

        foreach (var location in metadata.OfType<LocationHeader>())
        {
            if (operation.Responses?.TryGetValue(location.Status.ToString(CultureInfo.InvariantCulture), out var response) == true && response is OpenApiResponse answer)
            {
                answer.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.Ordinal);
                answer.Headers["Location"] = LocationHeaderSchema();
            }
        }

        if (metadata.OfType<CommandDocumentation>().FirstOrDefault() is { } command)
        {
            DocumentIdempotency(operation, command);
        }

        return Task.CompletedTask;
    }

    /// <summary>Each problem response lists the stable codes the endpoint may answer with.</summary>
    private static void DocumentProblemCodes(OpenApiOperation operation, IList<object> metadata)
    {
        foreach (var group in metadata.OfType<ProblemCodes>().GroupBy(p => p.Status))
        {
            if (operation.Responses?.TryGetValue(group.Key.ToString(CultureInfo.InvariantCulture), out var response) == true && response is OpenApiResponse problem)
            {
                var codes = group.SelectMany(p => p.Codes).Distinct(StringComparer.Ordinal);
                problem.Description = $"{Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(group.Key)}. code: {string.Join(", ", codes)}";
            }
        }
    }

    /// <summary>Path parameters (also those the command endpoints read with the body) with their descriptions and
    /// patterns, and the declared query parameters.</summary>
    private static void DocumentParameters(OpenApiOperation operation, string? relativePath, IList<object> metadata)
    {
        // The command endpoints read their route values with the body, so the generator does not see them as parameters.
        foreach (var name in RouteParameterPattern().Matches(relativePath ?? "").Select(m => m.Groups[1].Value))
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
            if (parameter.In == ParameterLocation.Path && PathParameters.TryGetValue(parameter.Name ?? "", out var known))
            {
                parameter.Description = known.Description;
                if (known.Pattern is not null && parameter.Schema is OpenApiSchema pathSchema)
                {
                    pathSchema.Pattern = known.Pattern;
                }
            }
        }

        foreach (var query in metadata.OfType<QueryParameter>())
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(query.ToOpenApi());
        }
    }

    /// <summary>A command's <c>Idempotency-Key</c> header (where it takes one) and the <c>Idempotent-Replayed</c> header
    /// of its answers that are stored and replayed.</summary>
    private static void DocumentIdempotency(OpenApiOperation operation, CommandDocumentation command)
    {
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
            // A queued command's 202 is never a replay (a second submission says alreadySubmitted in the body instead).
            if (response is OpenApiResponse answer && ((status.StartsWith('2') && status != "202") || status is "404" or "422"))
            {
                answer.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.Ordinal);
                answer.Headers["Idempotent-Replayed"] = new OpenApiHeader
                {
                    Description = "true when this is the stored answer of an earlier submission with the same operation id.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("true")] },
                };
            }
        }
    }

    /// <summary>
    /// Declares who may call the operation: the bearer scheme and the roles of its endpoint policy (the fallback policy
    /// when it names none) in <see cref="RolesExtension"/> and its description, with the 401 and 403 problems; an
    /// anonymous endpoint gets an empty <c>security</c>.
    /// </summary>
    private static void DocumentSecurity(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        if (metadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security = [];
            return;
        }

        var policies = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().DefaultIfEmpty(Policies.ReadAll);
        var roles = Roles.All.Where(role => policies.All(p => Policies.RolesByPolicy.TryGetValue(p, out var allowed) && allowed.Contains(role, StringComparer.Ordinal))).ToList();
        var isCommand = metadata.OfType<RespondAsync>().Any() || context.Description.RelativePath?.StartsWith("api/v1/commands", StringComparison.Ordinal) == true;
        var path = context.Description.RelativePath ?? "";
        var ownerScoped = isCommand || (context.Description.HttpMethod == "GET" && (path.Contains("{accountId}", StringComparison.Ordinal) || path.Contains("{holdId}", StringComparison.Ordinal)));
        var holders = roles.Where(r => r is Roles.Provider or Roles.Consumer).ToList();
        var others = roles.Except(holders, StringComparer.Ordinal).ToList();
        var sentence = ownerScoped && holders.Count > 0
            ? $"Roles: {string.Join(", ", holders)} (only on accounts whose ownerId is the token's owner)" + (others.Count > 0 ? $"; {string.Join(", ", others)} (any)." : ".")
            : $"Roles: {string.Join(", ", roles)}.";
        operation.Description = string.IsNullOrEmpty(operation.Description) ? sentence : $"{operation.Description} {sentence}";
        operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
        operation.Extensions ??= new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal);
        operation.Extensions[RolesExtension] = new JsonNodeExtension(new JsonArray([.. roles.Select(r => (JsonNode)JsonValue.Create(r))]));
        operation.Responses ??= [];
        operation.Responses[StatusCodes.Status401Unauthorized.ToString(CultureInfo.InvariantCulture)] =
            ProblemResponse("Unauthorized: no valid bearer token (WWW-Authenticate names the scheme). code: unauthenticated", context.Document!);
        operation.Responses[StatusCodes.Status403Forbidden.ToString(CultureInfo.InvariantCulture)] =
            ProblemResponse("Forbidden: the token's role may not call this operation" + (ownerScoped ? ", or the account or hold is not its owner's" : "") + ". code: forbidden", context.Document!);
    }

    /// <summary>The <c>Prefer: respond-async</c> header and the 202 answer of a command the durable queue takes.</summary>
    private static void DocumentRespondAsync(OpenApiOperation operation, RespondAsync respondAsync, OpenApiDocument document)
    {
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = "Prefer",
            In = ParameterLocation.Header,
            Required = false,
            Description = respondAsync.Body == typeof(CommandAccepted)
                ? "respond-async (RFC 7240): once the body is valid, the command is stored on the durable queue and answered 202 " +
                  "with Location: /api/v1/operations/{operationId}; a worker runs it."
                : "respond-async (RFC 7240): a non-atomic batch's valid commands are each stored on the durable queue; the answer is " +
                  "202 with, per command, its queued status or its problem. Atomic batches answer synchronously.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, Examples = [JsonValue.Create("respond-async")] },
        });
        operation.Responses ??= [];
        var headers = new Dictionary<string, IOpenApiHeader>(StringComparer.Ordinal)
        {
            ["Preference-Applied"] = new OpenApiHeader
            {
                Description = "respond-async: the preference was honoured.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("respond-async")] },
            },
        };
        if (respondAsync.Body == typeof(CommandAccepted))
        {
            headers["Location"] = LocationHeaderSchema();
        }

        operation.Responses[StatusCodes.Status202Accepted.ToString(CultureInfo.InvariantCulture)] = new OpenApiResponse
        {
            Description = "Accepted: queued on the durable queue (Prefer: respond-async).",
            Headers = headers,
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
            {
                [Json] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(respondAsync.Body.Name, document) },
            },
        };
    }

    private static OpenApiHeader LocationHeaderSchema() => new()
    {
        Description = "The queued operation's status URL, /api/v1/operations/{operationId}.",
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uri-reference" },
    };

    private static OpenApiResponse ProblemResponse(string description, OpenApiDocument document) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
        {
            [ProblemJson] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(nameof(ApiProblem), document) },
        },
    };

    /// <summary>XML doc summaries keep their source line breaks and indentation; the document shows them as one line.</summary>
    private static string? OneLine(string? text) => text is null ? null : LineBreakPattern().Replace(text, " ");

    [GeneratedRegex("\\s*\\n\\s*")]
    private static partial Regex LineBreakPattern();

    [GeneratedRegex("\\{([A-Za-z]+)[^}]*\\}")]
    private static partial Regex RouteParameterPattern();

    /// <summary>Marks a command endpoint (documented with <see cref="DocumentCommand"/>).</summary>
    private sealed record CommandDocumentation(bool IdempotencyKey);

    /// <summary>Marks an endpoint that honours <c>Prefer: respond-async</c> with a 202 carrying <paramref name="Body"/>.</summary>
    public sealed record RespondAsync(Type Body);

    /// <summary>Marks a response (by status) that carries a <c>Location</c> header naming the queued operation.</summary>
    public sealed record LocationHeader(int Status);
}

/// <summary>A problem status an endpoint can answer and the stable codes it can carry.</summary>
public sealed record ProblemCodes(int Status, params IReadOnlyList<string> Codes);
