using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Testing;

namespace RegistryPolicy.Tests.Resolution;

/// <summary>The specification in code: the Kyma preset against a naive evaluator, and the invariants of every policy evaluation.</summary>
public sealed class ResolutionProperties
{
    private static readonly CompiledPolicy Kyma = PolicyPresets.Default;
    private static readonly SnapshotShape Shape = SnapshotShape.KymaServerless;
    private static readonly Arbitrary<ImmutableArray<KubeObject>> Snapshots = SnapshotGenerators.ObjectsArbitrary(Shape);

    private static Evaluation Evaluate(IEnumerable<KubeObject> objects, EvaluationView view = EvaluationView.Converged) =>
        PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(objects), view);

    [Property(MaxTest = 500)]
    public Property The_engine_agrees_with_a_naive_evaluator_in_the_converged_view() =>
        Prop.ForAll(Snapshots, objects =>
        {
            var expected = NaiveKymaEvaluator.Evaluate(objects, converged: true);
            var actual = NaiveKymaEvaluator.Project(Evaluate(objects));
            return expected.SequenceEqual(actual).Label(
                NaiveKymaEvaluator.Describe(objects) + "\nexpected:\n" + string.Join("\n", expected) + "\nactual:\n" + string.Join("\n", actual));
        });

    [Property(MaxTest = 500)]
    public Property The_engine_agrees_with_a_naive_evaluator_in_the_as_is_view() =>
        Prop.ForAll(Snapshots, objects =>
        {
            var expected = NaiveKymaEvaluator.Evaluate(objects, converged: false);
            var actual = NaiveKymaEvaluator.Project(Evaluate(objects, EvaluationView.AsIs));
            return expected.SequenceEqual(actual).Label(
                NaiveKymaEvaluator.Describe(objects) + "\nexpected:\n" + string.Join("\n", expected) + "\nactual:\n" + string.Join("\n", actual));
        });

    [Property(MaxTest = 300)]
    public Property In_the_converged_view_the_documented_precedence_holds() =>
        Prop.ForAll(Snapshots, objects =>
        {
            var snapshot = ClusterSnapshot.Create(objects);
            Evaluation e = PolicyEngine.Evaluate(Kyma, snapshot);
            SecretObject? clusterWide = snapshot.GetSecret("kyma-system", Support.Objects.Override);
            bool activeBase = clusterWide is not null && clusterWide.Metadata.Labels.GetValueOrDefault(Support.Objects.ConfigLabel) == "credentials" && !clusterWide.Metadata.IsDeleting;
            foreach (NamespaceResolution r in e.Namespaces)
            {
                SecretObject? own = snapshot.GetSecret(r.Namespace, Support.Objects.Override);
                if (own?.Metadata.IsDeleting == true)
                {
                    continue; // a Secret being deleted may be gone once its finalizer is released
                }

                bool shielded = own?.Metadata.Labels.GetValueOrDefault(Support.Objects.ManagedByLabel) == "user";
                bool target = r.Namespace is not ("kyma-system" or "kube-system") && snapshot.GetNamespace(r.Namespace)?.IsTerminating != true;
                // A base that itself carries the shield label makes its copies shielded from the moment they are created.
                bool baseShielded = clusterWide?.Metadata.Labels.GetValueOrDefault(Support.Objects.ManagedByLabel) == "user";
                ResolutionSource? expected = shielded ? ResolutionSource.UserManaged
                    : activeBase && target ? (baseShielded ? ResolutionSource.UserManaged : ResolutionSource.ClusterWide)
                    : null;
                if (expected is { } source && r.Source != source)
                {
                    return false.Label($"{r.Namespace}: expected {source}, got {r.Source}");
                }

                // Without any override, a namespace with a default reads the default.
                if (own is null && !(activeBase && target) && r.Source is ResolutionSource.Namespace or ResolutionSource.UserManaged)
                {
                    return false.Label($"{r.Namespace}: {r.Source} without an override");
                }
            }

            return true.ToProperty();
        });

    [Property(MaxTest = 300)]
    public Property Evaluation_is_deterministic_and_independent_of_input_order() =>
        Prop.ForAll(Snapshots, objects =>
        {
            // A duplicate's winner depends on order by design ("later wins"); compare only duplicate-free inputs.
            var unique = objects.GroupBy(o => o.Reference).Select(g => g.Last()).ToImmutableArray();
            return Prop.ForAll(SnapshotGenerators.Shuffle(unique).ToArbitrary(), shuffled =>
            {
                Evaluation a = Evaluate(unique);
                Evaluation b = Evaluate(shuffled);
                bool same = a.Namespaces.SequenceEqual(b.Namespaces) && a.Namespaces.All(n => a.Explain(n.Namespace) == b.Explain(n.Namespace)) &&
                    a.Namespaces.Length == b.Namespaces.Length &&
                    a.Plan.Actions.SequenceEqual(b.Plan.Actions) &&
                    a.Diagnostics.Select(d => d.ToString()).SequenceEqual(b.Diagnostics.Select(d => d.ToString()));
                return same;
            });
        });

    [Property(MaxTest = 300)]
    public Property The_plan_is_a_fixpoint() =>
        Prop.ForAll(Snapshots, objects =>
        {
            var snapshot = ClusterSnapshot.Create(objects);
            PropagationPlan plan = PolicyEngine.Plan(Kyma, snapshot);
            PropagationPlan again = PolicyEngine.Plan(Kyma, plan.ApplyTo(snapshot));
            return again.IsEmpty.Label(string.Join("\n", again.Actions));
        });

    [Property(MaxTest = 300)]
    public Property Applying_the_plan_gives_the_converged_view() =>
        Prop.ForAll(Snapshots, objects =>
        {
            var snapshot = ClusterSnapshot.Create(objects);
            Evaluation converged = PolicyEngine.Evaluate(Kyma, snapshot);
            // Compare the same namespaces: a namespace known only from a deleted base's Secret is gone from the applied snapshot.
            var scope = new EvaluationOptions { View = EvaluationView.AsIs, Namespaces = [.. snapshot.Namespaces.Select(n => n.Name)] };
            Evaluation applied = snapshot.Namespaces.IsEmpty ? converged : PolicyEngine.Evaluate(Kyma, converged.Plan.ApplyTo(snapshot), scope);
            return converged.Namespaces.Zip(applied.Namespaces).All(p => p.First.SameOutcome(p.Second)).Label(
                NaiveKymaEvaluator.Describe(objects) + "\nconverged:\n" + string.Join("\n", converged.Namespaces) + "\napplied:\n" + string.Join("\n", applied.Namespaces));
        });

    [Property(MaxTest = 300)]
    public Property The_plan_never_writes_into_the_base_namespace_except_a_bases_finalizers() =>
        Prop.ForAll(Snapshots, objects =>
        {
            var snapshot = ClusterSnapshot.Create(objects);
            foreach (PlanAction a in PolicyEngine.Plan(Kyma, snapshot).Actions.Where(a => a.Secret.Namespace == "kyma-system"))
            {
                SecretObject? existing = snapshot.GetSecret(a.Secret.Namespace, a.Secret.Name);
                bool onlyFinalizers = a.Operation == PlanOperation.Update && existing is not null &&
                    (existing with { Metadata = existing.Metadata with { Finalizers = default } }).Equals(a.Desired! with { Metadata = a.Desired.Metadata with { Finalizers = default } });
                if (!onlyFinalizers)
                {
                    return false.Label(a.ToString());
                }
            }

            return true.ToProperty();
        });

    [Property(MaxTest = 300)]
    public Property A_namespace_secret_changes_only_its_own_namespace() =>
        Prop.ForAll(Snapshots, SnapshotGenerators.Secret(Shape).ToArbitrary(), (objects, secret) =>
        {
            if (secret.Namespace == "kyma-system")
            {
                return true.ToProperty(); // a Secret in the base namespace may be a base: covered by the next property
            }

            Evaluation before = Evaluate(objects);
            Evaluation after = Evaluate(objects.Add(secret));
            foreach (NamespaceResolution r in before.Namespaces.Where(n => n.Namespace != secret.Namespace))
            {
                if (after.Find(r.Namespace) is not { } other || !r.SameOutcome(other))
                {
                    return false.Label($"adding {secret} changed {r.Namespace}");
                }
            }

            return true.ToProperty();
        });

    [Property(MaxTest = 300)]
    public Property A_cluster_wide_change_never_changes_a_user_managed_namespace() =>
        Prop.ForAll(Snapshots, SnapshotGenerators.Secret(Shape with { Namespaces = ["kyma-system"] }).ToArbitrary(), (objects, change) =>
        {
            Evaluation before = Evaluate(objects);
            Evaluation after = Evaluate(objects.Add(change));
            var snapshot = ClusterSnapshot.Create(objects);
            foreach (NamespaceResolution r in before.Namespaces.Where(n => n.Source == ResolutionSource.UserManaged && n.Namespace != "kyma-system" &&
                         snapshot.GetSecret(n.Namespace, n.Secret!.Value.Name)?.Metadata.Labels.GetValueOrDefault(Support.Objects.ManagedByLabel) == "user"))
            {
                if (!r.SameOutcome(after.Find(r.Namespace)!))
                {
                    return false.Label($"{change} changed the user-managed {r.Namespace}");
                }
            }

            return true.ToProperty();
        });

    [Property(MaxTest = 200)]
    public Property Generated_snapshots_for_any_preset_evaluate_without_exceptions_and_plans_converge() =>
        Prop.ForAll(Gen.Elements(PolicyPresets.Names.ToArray()).ToArbitrary(), name =>
        {
            PolicyPresets.TryGet(name, out CompiledPolicy? policy);
            return Prop.ForAll(SnapshotGenerators.ObjectsArbitrary(SnapshotShape.ForPolicy(policy!)), objects =>
            {
                var snapshot = ClusterSnapshot.Create(objects);
                PropagationPlan plan = PolicyEngine.Plan(policy!, snapshot);
                return PolicyEngine.Plan(policy!, plan.ApplyTo(snapshot)).IsEmpty && PolicyEngine.Evaluate(policy!, snapshot).Namespaces.Length == snapshot.Namespaces.Length;
            });
        });
}
