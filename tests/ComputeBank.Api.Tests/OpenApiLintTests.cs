using System.Runtime.CompilerServices;
using Xunit.Abstractions;

namespace ComputeBank.Api.Tests;

/// <summary>
/// The served /openapi/v1.json passes the off-the-shelf linters a client team runs: Redocly CLI's <c>recommended</c>
/// ruleset and Spectral's <c>spectral:oas</c>, both pinned in tests/openapi-lint (installed with <c>npm ci</c> on the
/// first run). Any error fails with the linters' output; their warnings are written to the test output.
/// </summary>
public sealed class OpenApiLintTests(ApiFactory factory, ITestOutputHelper output) : IClassFixture<ApiFactory>
{
    private static readonly SemaphoreSlim Install = new(1, 1);

    [Fact]
    public async Task ServedDocument_HasNoErrors_UnderRedoclyRecommended_AndSpectralOas()
    {
        var document = await factory.CreateClient().GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        var folder = LintFolder();
        await InstallAsync(folder);

        var file = Path.Combine(Path.GetTempPath(), $"computebank-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, document);
        try
        {
            var redocly = await RunAsync(Path.Combine(folder, "node_modules", ".bin", "redocly"), folder,
                "lint", "--config", "redocly.yaml", "--format", "stylish", file);
            var spectral = await RunAsync(Path.Combine(folder, "node_modules", ".bin", "spectral"), folder,
                "lint", "--ruleset", ".spectral.yaml", "--fail-severity", "error", "--format", "stylish", file);
            output.WriteLine($"redocly (exit {redocly.Exit}):\n{redocly.Output}\nspectral (exit {spectral.Exit}):\n{spectral.Output}");

            Assert.True(redocly.Exit == 0, $"Redocly recommended found errors:\n{redocly.Output}");
            Assert.True(spectral.Exit == 0, $"Spectral spectral:oas found errors:\n{spectral.Output}");
            Assert.Contains("Your API description is valid", redocly.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string LintFolder([CallerFilePath] string sourceFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(sourceFile)!, "..", "openapi-lint"));

    /// <summary>Installs the pinned linters from package-lock.json once (node_modules is git-ignored).</summary>
    private static async Task InstallAsync(string folder)
    {
        await Install.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(folder, "node_modules", ".bin", "redocly")) && File.Exists(Path.Combine(folder, "node_modules", ".bin", "spectral")))
            {
                return;
            }

            var npm = await RunAsync("npm", folder, "ci");
            Assert.True(npm.Exit == 0, $"npm ci in {folder} failed:\n{npm.Output}");
        }
        finally
        {
            Install.Release();
        }
    }

    private static Task<(int Exit, string Output)> RunAsync(string program, string directory, params string[] arguments) =>
        ExternalProcess.RunAsync(program, directory, Quiet, arguments);

    // No telemetry, update checks or colour codes in the output.
    private static readonly Dictionary<string, string> Quiet = new(StringComparer.Ordinal)
    {
        ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true", ["NO_COLOR"] = "1", ["FORCE_COLOR"] = "0",
    };
}
