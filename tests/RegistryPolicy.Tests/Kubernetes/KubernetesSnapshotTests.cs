using System.Text;
using k8s;
using k8s.Models;
using RegistryPolicy.Kubernetes;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Kubernetes;

public sealed class KubernetesSnapshotTests
{
    private static V1Secret Secret() => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta
        {
            Name = "serverless-registry-config",
            NamespaceProperty = "team",
            Labels = new Dictionary<string, string> { ["serverless.kyma-project.io/remote-registry"] = "config" },
            Finalizers = ["example.com/f"],
            DeletionTimestamp = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc),
        },
        Type = "Opaque",
        Data = new Dictionary<string, byte[]> { ["registryAddress"] = Encoding.UTF8.GetBytes("ghcr.io/team"), ["password"] = [0xff, 0x00] },
        StringData = new Dictionary<string, string> { ["username"] = "bot" },
    };

    [Fact]
    public void A_model_and_its_yaml_from_the_official_serializer_give_the_same_snapshot_object()
    {
        V1Secret model = Secret();
        model.StringData = null;
        string yaml = KubernetesYaml.Serialize(model);

        SecretObject fromModel = model.ToSnapshotObject();
        SecretObject fromYaml = (SecretObject)SnapshotReader.Read(yaml, "model.yaml").Objects.Single().Item;

        Assert.Equal(fromModel, fromYaml);
    }

    [Fact]
    public void String_data_is_merged_and_the_deletion_timestamp_kept()
    {
        SecretObject secret = Secret().ToSnapshotObject();

        Assert.True(secret.Data.TryGetString("username", out string user));
        Assert.Equal("bot", user);
        Assert.Equal("2026-01-02T03:04:05Z", secret.Metadata.DeletionTimestamp);
        Assert.True(secret.Metadata.IsDeleting);
    }

    [Fact]
    public void A_snapshot_from_models_resolves_like_one_from_files()
    {
        var objects = new List<IKubernetesObject<V1ObjectMeta>>
        {
            new V1Namespace { Metadata = new V1ObjectMeta { Name = "team" }, Status = new V1NamespaceStatus { Phase = "Active" } },
            new V1Secret
            {
                Metadata = new V1ObjectMeta
                {
                    Name = "serverless-registry-config-default", NamespaceProperty = "kyma-system",
                    Labels = new Dictionary<string, string> { ["serverless.kyma-project.io/config"] = "credentials" },
                },
                Data = new Dictionary<string, byte[]> { ["registryAddress"] = Encoding.UTF8.GetBytes("r.example.com") },
            },
            new V1Service { Metadata = new V1ObjectMeta { Name = "svc", NamespaceProperty = "team" } },
            new V1Secret { Metadata = new V1ObjectMeta { NamespaceProperty = "team" } },
        };

        ClusterSnapshot snapshot = KubernetesSnapshot.Create(objects);
        Evaluation e = PolicyEngine.Evaluate(PolicyPresets.Default, snapshot);

        Assert.Equal(ResolutionSource.Default, e.Find("team")!.Source);
        Assert.Equal("r.example.com", e.Find("team")!.PushAddress);
        Assert.Contains(snapshot.Diagnostics, d => d.Code == "name-missing");
        Assert.Contains(snapshot.Diagnostics, d => d.Code == "kinds-ignored");
    }

    [Fact]
    public void Workload_models_keep_every_container_list_and_the_pod_spec_path()
    {
        var cron = new V1CronJob
        {
            Metadata = new V1ObjectMeta { Name = "nightly", NamespaceProperty = "ops" },
            Spec = new V1CronJobSpec
            {
                Schedule = "@daily",
                JobTemplate = new V1JobTemplateSpec
                {
                    Spec = new V1JobSpec
                    {
                        Template = new V1PodTemplateSpec
                        {
                            Spec = new V1PodSpec
                            {
                                Containers = [new V1Container { Name = "main", Image = "r.example.com/job:1" }],
                                InitContainers = [new V1Container { Name = "init", Image = "busybox" }],
                                ImagePullSecrets = [new V1LocalObjectReference { Name = "pull" }],
                            },
                        },
                    },
                },
            },
        };

        WorkloadObject workload = KubernetesSnapshot.Create([cron]).Workloads.Single();

        Assert.Equal("/spec/jobTemplate/spec/template/spec", workload.Template.SpecPath);
        Assert.Equal(["busybox", "r.example.com/job:1"], workload.Template.Containers.Select(c => c.Image));
        Assert.Equal(["pull"], workload.Template.ImagePullSecrets);
    }

    [Fact]
    public void Plan_actions_and_admission_patches_convert_back_to_models()
    {
        var snapshot = ClusterSnapshot.Create(
            NamespaceObject.Named("team"),
            new SecretObject(new ObjectMetadata("serverless-registry-config-default", "kyma-system") { Labels = StringMap.Of("serverless.kyma-project.io/config", "credentials") },
                "Opaque", SecretData.FromStrings("registryAddress", "r.example.com")));
        PlanAction create = PolicyEngine.Plan(PolicyPresets.Default, snapshot).Actions.Single(a => a.Operation == PlanOperation.Create);
        SecretObject labelled = new(new ObjectMetadata("reg", "team") { Labels = StringMap.Of("serverless.kyma-project.io/remote-registry", "config") },
            "Opaque", SecretData.FromStrings("username", "test", "password", "test", "serverAddress", "test"));
        AdmissionResult admitted = PolicyEngine.Admit(PolicyPresets.Default, new AdmissionRequest(AdmissionOperation.Create, labelled));

        V1Secret model = create.ToV1Secret()!;
        V1Patch patch = admitted.ToV1Patch()!;

        Assert.Equal("team", model.Metadata.NamespaceProperty);
        Assert.Equal("r.example.com", Encoding.UTF8.GetString(model.Data["registryAddress"]));
        Assert.Equal(model.ToSnapshotObject(), create.Desired);
        Assert.Equal(V1Patch.PatchType.JsonPatch, patch.Type);
        Assert.Contains("\"path\":\"/data/.dockerconfigjson\"", (string)patch.Content, StringComparison.Ordinal);
    }

    [Fact]
    public void A_planned_service_account_patch_becomes_a_json_patch_for_the_client()
    {
        var account = new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "default", NamespaceProperty = "team" } };
        var secret = new V1Secret { Metadata = new V1ObjectMeta { Name = "regcred", NamespaceProperty = "team" }, Type = "kubernetes.io/dockerconfigjson" };
        var snapshot = KubernetesSnapshot.Create([account, secret]);
        var policy = RegistryPolicy.Policies.PolicyLoader.Parse(
            "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicy\nmetadata: {name: l}\nspec:\n  serviceAccountLinks: [{name: l, secrets: {names: [regcred]}}]\n", "l.yaml");

        V1Patch patch = Assert.Single(PolicyEngine.Plan(policy, snapshot).ServiceAccountPatches).ToV1Patch();

        Assert.Equal(V1Patch.PatchType.JsonPatch, patch.Type);
        Assert.Equal("[{\"op\":\"add\",\"path\":\"/imagePullSecrets\",\"value\":[{\"name\":\"regcred\"}]}]", (string)patch.Content);
    }
}
