using JasperFx;
using JasperFx.Events;
using Marten;
using JasperFx.Events.Projections;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;

// The peer of the HTTP benchmark: a transfer between two accounts as the Critter Stack's documentation writes it.
// Each account is a Marten event stream (string ids) with an inline snapshot; POST /peer/transfers loads both with
// FetchForWriting through [WriteAggregate], appends one event to each and commits in one transaction per request.
// No idempotency, no hash chain, no group commit: the ledger's own features are what it is compared without.
var builder = WebApplication.CreateBuilder(args);
var connectionString = builder.Configuration.GetConnectionString("Peer")
    ?? throw new InvalidOperationException("Set ConnectionStrings__Peer.");
builder.Services.AddMarten(options =>
    {
        options.Connection(connectionString);
        options.DatabaseSchemaName = "peer";
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Projections.Snapshot<PeerAccount>(SnapshotLifecycle.Inline);
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
    })
    .IntegrateWithWolverine();
builder.Host.UseWolverine(options =>
{
    options.Discovery.DisableConventionalDiscovery();
    options.Policies.AutoApplyTransactions();
});
builder.Services.AddWolverineHttp();

var app = builder.Build();
app.MapWolverineEndpoints();
app.MapGet("/health/ready", () => Results.Ok());
await app.RunAsync();

public sealed record AccountOpened(string AccountId, decimal Hours);

public sealed record HoursSent(string TransferId, decimal Hours);

public sealed record HoursReceived(string TransferId, decimal Hours);

/// <summary>The snapshot of an account stream: its balance.</summary>
public sealed class PeerAccount
{
    public string Id { get; set; } = "";

    public decimal Hours { get; set; }

    public static PeerAccount Create(AccountOpened opened) => new() { Id = opened.AccountId, Hours = opened.Hours };

    public void Apply(HoursSent sent) => Hours -= sent.Hours;

    public void Apply(HoursReceived received) => Hours += received.Hours;
}

public sealed record PeerTransfer(string TransferId, string FromAccountId, string ToAccountId, decimal Hours);

public sealed record OpenAccounts(string[] AccountIds, decimal Hours);

public static class PeerEndpoints
{
    /// <summary>Opens funded accounts (the benchmark's set-up), one stream each, in one transaction.</summary>
    [WolverinePost("/peer/accounts")]
    public static IResult Open(OpenAccounts request, IDocumentSession session)
    {
        foreach (var id in request.AccountIds)
        {
            session.Events.StartStream<PeerAccount>(id, new AccountOpened(id, request.Hours));
        }

        return Results.Ok();
    }

    /// <summary>The transfer: 404 if either account is missing (Wolverine's default), 422 without the hours.</summary>
    [WolverinePost("/peer/transfers")]
    public static IResult Transfer(
        PeerTransfer command,
        [WriteAggregate(nameof(PeerTransfer.FromAccountId))] IEventStream<PeerAccount> from,
        [WriteAggregate(nameof(PeerTransfer.ToAccountId))] IEventStream<PeerAccount> to)
    {
        if (command.Hours <= 0 || from.Aggregate!.Hours < command.Hours)
        {
            return Results.Problem(statusCode: 422, title: "insufficient_credits");
        }

        from.AppendOne(new HoursSent(command.TransferId, command.Hours));
        to.AppendOne(new HoursReceived(command.TransferId, command.Hours));
        return Results.Created($"/peer/transfers/{command.TransferId}", null);
    }
}
