namespace ComputeBank.Domain;

/// <summary>The names of the bank's own accounts that make every movement double-entry. They are not streams.</summary>
public sealed record SystemAccountNames(
    string Capacity = "bank.capacity",
    string Consumption = "bank.consumption",
    string Expiry = "bank.expiry",
    string Conversion = "bank.conversion")
{
    public IEnumerable<string> All => [Capacity, Consumption, Expiry, Conversion];
}

/// <summary>
/// The configured catalogue: resource classes, regions, period granularity, conversion policy, system account names.
/// Built from plain values (the host binds it from configuration); <see cref="Validate"/> says what is wrong per field.
/// </summary>
public sealed record LedgerCatalogue(
    IReadOnlyList<string> ResourceClasses,
    IReadOnlyList<string> Regions,
    PeriodGranularity PeriodGranularity,
    ConversionPolicy Conversion,
    SystemAccountNames SystemAccounts)
{
    public static LedgerCatalogue Default { get; } = new(
        ["gpu.h100", "gpu.a100", "npu.ascend910b", "cpu.vcpu"],
        ["beijing", "xiongan", "tianjin", "shanghai"],
        PeriodGranularity.Monthly,
        ConversionPolicy.Default,
        new SystemAccountNames());

    public bool HasResourceClass(ResourceClass resourceClass) => ResourceClasses.Contains(resourceClass.Value, StringComparer.Ordinal);

    public bool HasRegion(Region region) => Regions.Contains(region.Value, StringComparer.Ordinal);

    public bool IsSystemAccount(AccountId id) => SystemAccounts.All.Contains(id.Value, StringComparer.Ordinal);

    /// <summary>The prefix of every account id the bank keeps for its own system accounts, present and future.</summary>
    public const string ReservedAccountPrefix = "bank.";

    /// <summary>Whether <paramref name="id"/> lies in the bank's reserved namespace (<c>bank.</c>), so no client may open it.</summary>
    public static bool IsReservedAccountId(AccountId id) => id.Value.StartsWith(ReservedAccountPrefix, StringComparison.Ordinal);

    public AccountId CapacityAccount => AccountId.Parse(SystemAccounts.Capacity);

    public AccountId ConsumptionAccount => AccountId.Parse(SystemAccounts.Consumption);

    public AccountId ExpiryAccount => AccountId.Parse(SystemAccounts.Expiry);

    public AccountId ConversionAccount => AccountId.Parse(SystemAccounts.Conversion);

    /// <summary>Error messages per configuration field; empty when the catalogue is usable.</summary>
    public IReadOnlyDictionary<string, string[]> Validate()
    {
        var errors = new List<KeyValuePair<string, string>>();
        Names(nameof(ResourceClasses), "resourceClasses", ResourceClasses, name => ResourceClass.TryParse(name, out _, out var e) ? null : e);
        Names(nameof(Regions), "regions", Regions, name => Region.TryParse(name, out _, out var e) ? null : e);
        if (!Enum.IsDefined(PeriodGranularity))
        {
            errors.Add(new("periodGranularity", "must be Monthly or Quarterly"));
        }

        errors.AddRange(Conversion.Validate());
        foreach (var (field, name) in new[]
                 {
                     ("systemAccounts.capacity", SystemAccounts.Capacity), ("systemAccounts.consumption", SystemAccounts.Consumption),
                     ("systemAccounts.expiry", SystemAccounts.Expiry), ("systemAccounts.conversion", SystemAccounts.Conversion),
                 })
        {
            if (!AccountId.TryParse(name, out _, out var error))
            {
                errors.Add(new(field, $"'{name}' {error}"));
            }
        }

        if (SystemAccounts.All.Distinct(StringComparer.Ordinal).Count() != 4)
        {
            errors.Add(new("systemAccounts", "the four system accounts need four different names"));
        }

        return errors.GroupBy(e => e.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(e => e.Value).ToArray(), StringComparer.Ordinal);

        void Names(string _, string field, IReadOnlyList<string> names, Func<string, string?> check)
        {
            if (names.Count == 0)
            {
                errors.Add(new(field, "at least one is required"));
            }

            foreach (var name in names)
            {
                if (check(name) is { } error)
                {
                    errors.Add(new(field, $"'{name}' {error}"));
                }
            }

            if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
            {
                errors.Add(new(field, "names must be unique"));
            }
        }
    }
}
