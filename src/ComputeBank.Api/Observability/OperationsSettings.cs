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
}
