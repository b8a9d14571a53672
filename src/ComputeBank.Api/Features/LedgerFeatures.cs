using ComputeBank.Api.Features.GettingAccount;
using ComputeBank.Api.Features.SubmittingBatches;
using ComputeBank.Domain;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Features;

/// <summary>The composition root of the use cases: the bus handler of every command kind, and every endpoint.</summary>
public static class LedgerFeatures
{
    public static HandlerRegistry Handlers(LedgerCatalogue catalogue, string schema) => CommandRegistry.Handlers(catalogue, schema);

    public static IEndpointRouteBuilder MapLedger(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/v1");
        api.MapCommands();
        SubmitBatchEndpoint.Map(api);
        api.MapDurableMessaging();
        GetAccountEndpoint.Map(api);
        ListAccountsEndpoint.Map(api);
        api.MapReadSide();
        return endpoints;
    }
}
