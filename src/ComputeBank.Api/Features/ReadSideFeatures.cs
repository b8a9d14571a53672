using ComputeBank.Api.Auditing;
using ComputeBank.Api.Features.GettingAccountHistory;
using ComputeBank.Api.Features.GettingBalances;
using ComputeBank.Api.Features.GettingEvents;
using ComputeBank.Api.Features.GettingHold;
using ComputeBank.Api.Features.GettingPool;
using ComputeBank.Api.Features.ReadingSystemAccounts;
using ComputeBank.Api.Features.VerifyingLedger;
using ComputeBank.Api.Hosting;
using ComputeBank.Api.Observability;
using ComputeBank.Api.Projections;
using ComputeBank.Domain;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Features;

/// <summary>The composition root of the read side: queries, the auditor, and the async projections' daemon.</summary>
public static class ReadSideFeatures
{
    public static IServiceCollection AddReadSide(this IServiceCollection services, string schema)
    {
        services.AddSingleton(sp => new LedgerAuditor(sp.GetRequiredService<ReadReplica>().Store, sp.GetRequiredService<LedgerCatalogue>()));
        services.AddSingleton(sp => new ProjectionDaemon(
            sp.GetRequiredService<MartenEventStore>(),
            [
                new PoolsProjection(new PoolTable(schema), sp.GetRequiredService<LedgerCatalogue>().SystemAccounts),
                new SystemAccountsProjection(schema, sp.GetRequiredService<LedgerCatalogue>().SystemAccounts),
            ],
            new ProjectionDaemonOptions { PageRows = sp.GetRequiredService<OperationsSettings>().ProjectionPageRows }));
        services.AddSingleton(sp => new SystemAccountReader(sp.GetRequiredService<MartenEventStore>().DataSource, schema));
        services.AddHostedService<ProjectionDaemonService>();
        return services;
    }

    public static IEndpointRouteBuilder MapReadSide(this IEndpointRouteBuilder api)
    {
        GetBalancesEndpoint.Map(api);
        GetAccountHistoryEndpoint.Map(api);
        GetHoldEndpoint.Map(api);
        GetPoolEndpoint.Map(api);
        GetEventsEndpoint.Map(api);
        VerifyLedgerEndpoint.Map(api);
        ExportCsvEndpoint.Map(api);
        ReadingTheMarket.MarketQueryEndpoints.Map(api);
        return api;
    }
}
