using System.Globalization;
using System.Net;
using System.Text;

namespace ComputeBank.Benchmarks;

/// <summary>A hand-written SVG: commands/s per second (with the baselines as lines) above p50/p99 latency per second
/// (log scale), over the load phases of the run (this build's, then an older build's and the peer's where measured).</summary>
internal static class Chart
{
    private const double Width = 1000;
    private const double Left = 70;
    private const double Right = 20;
    private const double PlotWidth = Width - Left - Right;
    private const double TopY = 70;
    private const double PanelHeight = 220;
    private const double LatencyY = TopY + PanelHeight + 60;

    public static string Render(Timeline timeline, Report report)
    {
        var samples = timeline.Samples;
        var start = timeline.Phases.Count > 0 ? timeline.Phases.Min(p => p.From) : 0;
        var end = timeline.Phases.Count > 0 ? timeline.Phases.Max(p => p.To) : 1;
        var seconds = Math.Max(1, (int)Math.Ceiling(end - start));
        var buckets = samples
            .GroupBy(s => (int)Math.Floor(s.At - start))
            .Where(g => g.Key >= 0 && g.Key < seconds)
            .OrderBy(g => g.Key)
            .Select(g => (Second: g.Key, Commands: g.Sum(s => s.Succeeded), P50: Stats.Percentile([.. g.Select(s => s.LatencyMs)], 0.5), P99: Stats.Percentile([.. g.Select(s => s.LatencyMs)], 0.99)))
            .ToList();

        var maxRate = Math.Max(report.Raw.TransfersPerSecond, Math.Max(2 * report.Pgbench.Tps, buckets.Count > 0 ? buckets.Max(b => b.Commands) : 1)) * 1.1;
        double X(double second) => Left + (second / seconds * PlotWidth);
        double RateY(double rate) => TopY + PanelHeight - (rate / maxRate * PanelHeight);
        const double minMs = 1, maxMs = 10_000;
        double LatencyYOf(double ms) => LatencyY + PanelHeight - ((Math.Log10(Math.Clamp(ms, minMs, maxMs)) - Math.Log10(minMs)) / (Math.Log10(maxMs) - Math.Log10(minMs)) * PanelHeight);

        var svg = new StringBuilder();
        void Add(FormattableString text) => svg.AppendLine(text.ToString(CultureInfo.InvariantCulture));
        var lines = report.Lines().ToList();
        var height = LatencyY + PanelHeight + 60 + (16 * lines.Count);
        Add($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"12\">");
        Add($"<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        Add($"<text x=\"{Left}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">ComputeBank HTTP benchmark: transfers per second and latency over the run</text>");
        Add($"<text x=\"{Left}\" y=\"44\" fill=\"#555\">{Escape($"{Environment.ProcessorCount} cores; bus {report.Bus}; baselines from the same run: pgbench TPC-B {report.Pgbench.Tps:N0} tps, raw 50 transfers/commit {report.Raw.TransfersPerSecond:N0}/s")}</text>");

        foreach (var (phase, from, to) in timeline.Phases)
        {
            Add($"<rect x=\"{X(from - start):0.0}\" y=\"{TopY}\" width=\"{X(to - start) - X(from - start):0.0}\" height=\"{LatencyY + PanelHeight - TopY}\" fill=\"{(phase.Contains("batch", StringComparison.Ordinal) ? "#fbf3ea" : "#eef4fb")}\"/>");
            // At the foot of the latency panel: the top of the rate panel carries the baselines' labels.
            Add($"<text x=\"{X(from - start) + 6:0.0}\" y=\"{LatencyY + PanelHeight - 6}\" fill=\"#333\">{Escape(phase switch { "single" => $"single transfers, {report.Single.Clients} clients", "batch" => $"batches of 1,000, {report.Batch.Clients} clients", _ => phase })}</text>");
        }

        Axes(svg, TopY, "transfers/s", Enumerable.Range(0, 5).Select(i => maxRate / 1.1 * i / 4).Select(v => (RateY(v), v.ToString("N0", CultureInfo.InvariantCulture))));
        Axes(svg, LatencyY, "latency ms (log)", new[] { 1.0, 10, 100, 1000, 10000 }.Select(v => (LatencyYOf(v), v.ToString("N0", CultureInfo.InvariantCulture))));
        for (var s = 0; s <= seconds; s += Math.Max(1, seconds / 10))
        {
            Add($"<text x=\"{X(s):0.0}\" y=\"{LatencyY + PanelHeight + 16}\" text-anchor=\"middle\" fill=\"#555\">{s}s</text>");
        }

        Baseline(svg, RateY(report.Pgbench.Tps), $"pgbench {report.Pgbench.Tps:N0} tps", "#888");
        Baseline(svg, RateY(2 * report.Pgbench.Tps), $"target single: 2x pgbench = {2 * report.Pgbench.Tps:N0}", "#2a7");
        Baseline(svg, RateY(report.Raw.TransfersPerSecond), $"raw 50/commit {report.Raw.TransfersPerSecond:N0}", "#888");
        Baseline(svg, RateY(Math.Max(0.5 * report.Raw.TransfersPerSecond, 20_000)), $"target batch: max(0.5x raw, 20,000) = {Math.Max(0.5 * report.Raw.TransfersPerSecond, 20_000):N0}", "#c73");
        Baseline(svg, LatencyYOf(50), $"50 ms (p99 target, single)", "#2a7");

        // One line per phase: the set-up and warm-up between phases are not measured, so nothing is drawn across them.
        foreach (var (_, from, to) in timeline.Phases)
        {
            var phase = buckets.Where(b => b.Second >= Math.Floor(from - start) && b.Second < to - start).ToList();
            Series(svg, phase.Select(b => (X(b.Second + 0.5), RateY(b.Commands))), "#1f5fbf");
            Series(svg, phase.Select(b => (X(b.Second + 0.5), LatencyYOf(b.P50))), "#1f5fbf");
            Series(svg, phase.Select(b => (X(b.Second + 0.5), LatencyYOf(b.P99))), "#d0342c");
        }

        Add($"<text x=\"{Width - Right - 180}\" y=\"{LatencyY - 8}\"><tspan fill=\"#1f5fbf\">— p50</tspan>  <tspan fill=\"#d0342c\">— p99</tspan> per second</text>");

        var y = LatencyY + PanelHeight + 44;
        foreach (var line in lines)
        {
            Add($"<text x=\"{Left}\" y=\"{y}\" font-family=\"monospace\" font-size=\"11\" xml:space=\"preserve\">{Escape(line)}</text>");
            y += 16;
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void Axes(StringBuilder svg, double top, string label, IEnumerable<(double Y, string Text)> ticks)
    {
        svg.AppendLine(string.Create(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{top}\" width=\"{PlotWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#333\"/>"));
        svg.AppendLine(string.Create(CultureInfo.InvariantCulture, $"<text x=\"12\" y=\"{top + (PanelHeight / 2)}\" transform=\"rotate(-90 12 {top + (PanelHeight / 2)})\" text-anchor=\"middle\">{label}</text>"));
        foreach (var (y, text) in ticks)
        {
            svg.AppendLine(string.Create(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Left + PlotWidth}\" y1=\"{y:0.0}\" y2=\"{y:0.0}\" stroke=\"#ddd\"/><text x=\"{Left - 6}\" y=\"{y + 4:0.0}\" text-anchor=\"end\" fill=\"#555\">{text}</text>"));
        }
    }

    private static void Baseline(StringBuilder svg, double y, FormattableString label, string color) =>
        svg.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"<line x1=\"{Left}\" x2=\"{Left + PlotWidth}\" y1=\"{y:0.0}\" y2=\"{y:0.0}\" stroke=\"{color}\" stroke-dasharray=\"6 4\"/><text x=\"{Left + PlotWidth - 4}\" y=\"{y - 4:0.0}\" text-anchor=\"end\" fill=\"{color}\">{Escape(label.ToString(CultureInfo.InvariantCulture))}</text>"));

    private static void Series(StringBuilder svg, IEnumerable<(double X, double Y)> points, string color)
    {
        var path = string.Join(' ', points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X:0.0},{p.Y:0.0}")));
        if (path.Length > 0)
        {
            svg.AppendLine($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{path}\"/>");
        }
    }

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
