using ComputeBank.Api.Features.CapturingHolds;
using ComputeBank.Api.Features.ClosingPeriods;
using ComputeBank.Api.Features.Depositing;
using ComputeBank.Api.Features.FreezingAccounts;
using ComputeBank.Api.Features.GettingAccount;
using ComputeBank.Api.Features.OpeningAccounts;
using ComputeBank.Api.Features.PlacingHolds;
using ComputeBank.Api.Features.ReleasingHolds;
using ComputeBank.Api.Features.SettingCreditLimits;
using ComputeBank.Api.Features.SubmittingBatches;
using ComputeBank.Api.Features.Transferring;
using ComputeBank.Api.Features.TransferringAcrossPeriods;
using ComputeBank.Api.Features.Withdrawing;
using ComputeBank.Api.Ledger;
using ComputeBank.Domain;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Features;

/// <summary>The composition root of the use cases: each command kind with its bus handler, and every endpoint.</summary>
public static class LedgerFeatures
{
    /// <summary>Every command kind by its name in batches (and on the queue).</summary>
    public static IReadOnlyDictionary<string, CommandKind> Kinds { get; } = new[]
    {
        OpenAccountEndpoint.Kind, DepositEndpoint.Kind, WithdrawEndpoint.Kind, TransferEndpoint.Kind, TransferAcrossPeriodsEndpoint.Kind,
        PlaceHoldEndpoint.Kind, CaptureHoldEndpoint.Kind, ReleaseHoldEndpoint.Kind, SetCreditLimitEndpoint.Kind,
        AccountStatusEndpoints.Freeze, AccountStatusEndpoints.Unfreeze, AccountStatusEndpoints.Close, ClosePeriodEndpoint.Kind,
    }.ToDictionary(k => k.Type, StringComparer.Ordinal);

    public static HandlerRegistry Handlers(LedgerCatalogue catalogue, string schema) => new HandlerRegistry()
        .Register(new LedgerHandler<OpenAccount>(catalogue, StatusCodes.Status201Created, OpenAccountEndpoint.Body))
        .Register(new LedgerHandler<DepositCapacity>(catalogue, StatusCodes.Status201Created))
        .Register(new LedgerHandler<WithdrawCredits>(catalogue, StatusCodes.Status201Created))
        .Register(new LedgerHandler<TransferCredits>(catalogue, StatusCodes.Status201Created))
        .Register(new LedgerHandler<TransferAcrossPeriods>(catalogue, StatusCodes.Status201Created))
        .Register(new LedgerHandler<PlaceHold>(catalogue, StatusCodes.Status201Created))
        .Register(new LedgerHandler<CaptureHold>(catalogue, StatusCodes.Status200OK))
        .Register(new LedgerHandler<ReleaseHold>(catalogue, StatusCodes.Status200OK))
        .Register(new LedgerHandler<ExpireHold>(catalogue, StatusCodes.Status200OK))
        .Register(new LedgerHandler<SetCreditLimit>(catalogue, StatusCodes.Status200OK))
        .Register(new LedgerHandler<FreezeAccount>(catalogue, StatusCodes.Status200OK))
        .Register(new LedgerHandler<UnfreezeAccount>(catalogue, StatusCodes.Status200OK))
        .Register(new LedgerHandler<CloseAccount>(catalogue, StatusCodes.Status200OK))
        .Register(new ClosePeriodHandler(catalogue, schema));

    public static IEndpointRouteBuilder MapLedger(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/v1");
        OpenAccountEndpoint.Map(api);
        DepositEndpoint.Map(api);
        WithdrawEndpoint.Map(api);
        TransferEndpoint.Map(api);
        TransferAcrossPeriodsEndpoint.Map(api);
        PlaceHoldEndpoint.Map(api);
        CaptureHoldEndpoint.Map(api);
        ReleaseHoldEndpoint.Map(api);
        SetCreditLimitEndpoint.Map(api);
        AccountStatusEndpoints.Map(api);
        ClosePeriodEndpoint.Map(api);
        SubmitBatchEndpoint.Map(api, Kinds);
        api.MapDurableMessaging(Kinds);
        GetAccountEndpoint.Map(api);
        api.MapReadSide();
        return endpoints;
    }
}
