using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Testing;
using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;
using RegistryPolicy.WhatIf;
using static RegistryPolicy.Tests.Support.Objects;

namespace RegistryPolicy.Tests.WhatIf;

public sealed class SnapshotChangesTests
{
    private const string Document = """
        changes:
          - op: setLabel
            target: {kind: Secret, namespace: team-b, name: serverless-registry-config}
            key: serverless.kyma-project.io/managed-by
            value: user
          - op: setData
            target: {kind: Secret, namespace: team-b, name: serverless-registry-config}
            key: registryAddress
            value: ghcr.io/team-b-v2
          - op: put
            object:
              kind: Secret
              metadata: {name: serverless-registry-config, namespace: team-c}
              stringData: {registryAddress: team-c.example.com}
          - op: delete
            target: {kind: Secret, namespace: team-a, name: nothing-here}
        """;

    [Fact]
    public void A_change_document_applies_purely_and_reports_missing_targets()
    {
        var snapshot = ClusterSnapshot.Create(Namespace("team-b"), Namespace("team-c"), NamespaceOverride("team-b"));
        ImmutableArray<SnapshotChange> changes = SnapshotChanges.Parse(Document, "changes.yaml", out var diagnostics);

        ChangeResult result = SnapshotChanges.Apply(snapshot, changes);

        Assert.Empty(diagnostics);
        Assert.Equal(4, changes.Length);
        Assert.Equal("user", result.Snapshot.GetSecret("team-b", Override)!.Metadata.Labels[ManagedByLabel]);
        Assert.True(result.Snapshot.GetSecret("team-b", Override)!.Data.TryGetString("registryAddress", out string address));
        Assert.Equal("ghcr.io/team-b-v2", address);
        Assert.NotNull(result.Snapshot.GetSecret("team-c", Override));
        Assert.Equal("change-target-missing", Assert.Single(result.Diagnostics).Code);
        Assert.Null(snapshot.GetSecret("team-c", Override)); // the input is unchanged
    }

    [Fact]
    public void Bad_changes_are_reported_with_their_location()
    {
        SnapshotChanges.Parse("changes:\n  - op: explode\n  - op: setLabel\n    target: {kind: Secret, name: x}\n", "c.yaml", out var diagnostics);

        Assert.Equal(2, diagnostics.Length);
        Assert.All(diagnostics, d => Assert.True(d.Location!.Value.Line > 0));
    }

    [Property(MaxTest = 200)]
    public Property Applying_changes_then_their_inverse_gives_no_diff() =>
        Prop.ForAll(SnapshotGenerators.ObjectsArbitrary(SnapshotShape.KymaServerless), SnapshotGenerators.Secret(SnapshotShape.KymaServerless).ToArbitrary(),
            Gen.Elements("registryAddress", "isInternal").ToArbitrary(), (objects, secret, key) =>
            {
                var snapshot = ClusterSnapshot.Create(objects);
                SnapshotChange[] changes =
                [
                    new(ChangeOperation.Put, secret.Reference) { Manifest = secret },
                    new(ChangeOperation.SetData, secret.Reference) { Key = key, Value = "changed.example.com" },
                    new(ChangeOperation.SetLabel, secret.Reference) { Key = ManagedByLabel, Value = "user" },
                    new(ChangeOperation.RemoveLabel, secret.Reference) { Key = ConfigLabel },
                ];
                ChangeResult forward = SnapshotChanges.Apply(snapshot, changes);
                ChangeResult back = SnapshotChanges.Apply(forward.Snapshot, forward.Inverse);
                OutcomeDiff diff = RegistryPolicy.WhatIf.WhatIfEngine.Compare(new WhatIfSide(PolicyPresets.Default, snapshot), new WhatIfSide(PolicyPresets.Default, back.Snapshot));
                return (diff.IsEmpty && back.Snapshot.Objects.ToHashSet().SetEquals(snapshot.Objects)).Label(string.Join("\n", diff.Namespaces.Select(n => n.Namespace)));
            });

    [Fact]
    public void The_cli_applies_a_change_document_to_the_after_side()
    {
        string cluster = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "kyma-cluster.yaml");
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "changes.yaml");
        File.WriteAllText(file, Document);

        CliResult result = CliRunner.Run("whatif", "--before", cluster, "--changes", file, "-o", "json", "--fail-on-change");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("\"team-b\"", result.Output, StringComparison.Ordinal);
        Assert.Contains("\"team-c\"", result.Output, StringComparison.Ordinal);
    }
}
