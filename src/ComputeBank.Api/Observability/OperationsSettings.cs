using ComputeBank.EventStore;

namespace ComputeBank.Api.Observability;

/// <summary>The <c>ComputeBank:Operations</c> section: shutdown and readiness limits.</summary>
public sealed class OperationsSettings
{
    public const string Section = "ComputeBank:Operations";

    /// <summary>How long a stop may take in all (HostOptions.ShutdownTimeout): in-flight requests, draining the
    /// command queue, releasing daemon locks.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Readiness fails when the oldest event an async projection has not applied waited longer than this.</summary>
    public TimeSpan DaemonStallThreshold { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Rows of the event feed one page of an async projection reads (see ProjectionDaemonOptions.PageRows).</summary>
    public int ProjectionPageRows { get; set; } = ProjectionDaemonOptions.DefaultPageRows;

    /// <summary>Fails start-up with the setting's name when a value is out of range.</summary>
    public OperationsSettings Validated()
    {
        if (ProjectionPageRows is < 1 or > ProjectionDaemonOptions.MaxPageRows)
        {
            throw new InvalidOperationException(
                $"{Section}:ProjectionPageRows must be between 1 and {ProjectionDaemonOptions.MaxPageRows} (rows of the event feed one projection page reads); it is {ProjectionPageRows}.");
        }

        return this;
    }
}
