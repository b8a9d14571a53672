using System.Globalization;

namespace ComputeBank.FaultTests;

/// <summary>Where the checkout these tests run from lives, and the run folders they write into it.</summary>
internal static class Checkout
{
    /// <summary>The folder holding ComputeBank.sln above the test binaries; null when run from elsewhere.</summary>
    public static string? Root()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ComputeBank.sln")))
        {
            root = root.Parent;
        }

        return root?.FullName;
    }

    /// <summary>A new <c>.data/fault-reports/&lt;prefix&gt;&lt;time&gt;</c> folder (under the temp folder outside a checkout).</summary>
    public static string NewReportDirectory(string prefix = "")
    {
        var directory = Path.Combine(Root() ?? Path.GetTempPath(), ".data", "fault-reports", prefix + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(directory);
        return directory;
    }
}
