using System.Text.Json;
using ComputeBank.Api.Features;
using ComputeBank.Api.Features.Depositing;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Tests;

/// <summary>
/// The command registry is the one list of commands that endpoints, batches, the durable queue, authorization, the
/// OpenAPI document and the bus handlers read: a command left out of it, or half declared, fails here.
/// </summary>
public sealed class CommandRegistryTests
{
    /// <summary>The kinds the API runs but does not offer to clients (no route, no policy): the scheduler's own.</summary>
    private static readonly string[] NotOffered = ["hold-expire", "trade-expire", "offer-expire"];

    private static readonly CommandContext Context = new(DateTimeOffset.Parse("2026-11-24T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), "tester", null);

    [Fact]
    public void EveryDomainCommand_HasExactlyOneKind()
    {
        var domainCommands = typeof(LedgerCommand).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsClass: true } && t.IsSubclassOf(typeof(LedgerCommand)))
            .ToList();

        Assert.NotEmpty(domainCommands);
        foreach (var command in domainCommands)
        {
            Assert.True(CommandRegistry.All.Count(k => k.CommandType == command) == 1,
                $"{command.Name} has {CommandRegistry.All.Count(k => k.CommandType == command)} entries in CommandRegistry.All, not exactly one");
        }

        Assert.All(CommandRegistry.All, k => Assert.Contains(k.CommandType, domainCommands));
    }

    [Fact]
    public void EveryKind_HasAUniqueNameAndAHandler_AndEveryOfferedKindARouteAndAPolicy()
    {
        Assert.Equal(CommandRegistry.All.Count, CommandRegistry.All.Select(k => k.Type).Distinct(StringComparer.Ordinal).Count());
        foreach (var kind in CommandRegistry.All)
        {
            var handler = kind.Handler(LedgerCatalogue.Default, "cb");
            Assert.True(typeof(ICommandHandler<>).MakeGenericType(kind.CommandType).IsInstanceOfType(handler), $"{kind.Type} has no handler of {kind.CommandType.Name}");
            Assert.False(string.IsNullOrWhiteSpace(kind.Action), $"{kind.Type} has no action for its 403 detail");
            if (NotOffered.Contains(kind.Type, StringComparer.Ordinal))
            {
                Assert.Null(kind.Route);
                Assert.Null(kind.Policy);
                continue;
            }

            Assert.True(kind.Route is not null, $"{kind.Type} has no route");
            Assert.True(kind.Policy is not null && Policies.RolesByPolicy.ContainsKey(kind.Policy), $"{kind.Type} has no known policy");
            Assert.False(string.IsNullOrWhiteSpace(kind.Summary), $"{kind.Type} has no summary");
            Assert.False(string.IsNullOrWhiteSpace(kind.Description), $"{kind.Type} has no description");
        }

        Assert.Equal(CommandRegistry.Offered.Count, CommandRegistry.Offered.Select(k => k.Route!.Name).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(CommandRegistry.Offered.Count, CommandRegistry.Offered.Select(k => (k.Route!.Method, k.Route.Pattern)).Distinct().Count());

        // One handler per command type: a second registration of the same type throws.
        _ = CommandRegistry.Handlers(LedgerCatalogue.Default, "cb");
    }

    [Fact]
    public void EveryKind_ReadsAnEmptyBody_AsFieldErrors()
    {
        using var empty = JsonDocument.Parse("{}");
        foreach (var kind in CommandRegistry.All)
        {
            var (command, errors) = kind.Read(empty.RootElement, LedgerCatalogue.Default, Context);

            Assert.Null(command);
            Assert.Contains(errors, e => e.Value.Contains("is required"));
        }
    }

    [Fact]
    public void AnAmountGivenAsANumber_IsReadFromItsTokenText_AndAWrongKindIsAFieldError()
    {
        using var body = JsonDocument.Parse("""
            {"depositId": "d-1", "accountId": "acme", "resourceClass": "gpu.h100", "region": "beijing", "period": "2026-11",
             "hours": 0.30000000000000004, "reference": 7}
            """);

        var (command, errors) = DepositEndpoint.Kind.Read(body.RootElement, LedgerCatalogue.Default, Context);

        Assert.Null(command);
        Assert.Equal(["must be a string"], errors["reference"]);
        Assert.Equal(["must have at most 3 decimals"], errors["hours"]);
        Assert.Equal(2, errors.Count);
    }
}
