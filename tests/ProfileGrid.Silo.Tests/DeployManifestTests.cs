using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The deployment files as an operator would check them without a cluster (none runs here): yamllint, kubectl's offline
/// parsing of deploy/kubernetes.yaml, docker-compose's own validation, and what the silo needs from a pod: the labels
/// and environment Orleans' Kubernetes hosting reads, the pod permissions it uses, and only settings the silo knows.
/// </summary>
public sealed class DeployManifestTests
{
    private static readonly string Root = RepositoryRoot();
    private static readonly string Manifest = Path.Combine(Root, "deploy", "kubernetes.yaml");

    [Fact]
    public void Manifests_and_compose_file_pass_yamllint()
    {
        var (exit, output) = Run("yamllint", "yamllint", "-s", "-c", Path.Combine(Root, "deploy", "yamllint.yaml"),
            Manifest, Path.Combine(Root, "docker-compose.yml"), Path.Combine(Root, "deploy", "yamllint.yaml"));
        Assert.True(exit == 0, output);
    }

    [Fact]
    public void Compose_file_is_valid_for_docker_compose()
    {
        var (exit, output) = Run("docker-compose", "docker-compose", "-f", Path.Combine(Root, "docker-compose.yml"), "config", "-q");
        Assert.True(exit == 0, output);
    }

    [Fact]
    public void Kubernetes_manifest_gives_every_silo_what_orleans_kubernetes_hosting_needs()
    {
        // "label --local" parses every document into an object offline (apply --dry-run=client needs an API server).
        var items = JsonValues(Run("kubernetes-client", "kubectl", "label", "--local", "-f", Manifest, "-o", "json", "checked=offline").Output).ToList();
        var kinds = items.Select(i => i.GetProperty("kind").GetString()).ToList();
        Assert.Equal(["ServiceAccount", "Role", "RoleBinding", "Deployment", "PodDisruptionBudget", "Service"], kinds);

        var deployment = items.Single(i => i.GetProperty("kind").GetString() == "Deployment");
        Assert.Equal(3, deployment.GetProperty("spec").GetProperty("replicas").GetInt32());
        var template = deployment.GetProperty("spec").GetProperty("template");
        var labels = template.GetProperty("metadata").GetProperty("labels");
        Assert.Equal("profilegrid", labels.GetProperty("orleans/serviceId").GetString());
        Assert.Equal("production", labels.GetProperty("orleans/clusterId").GetString());
        var pod = template.GetProperty("spec");
        var container = pod.GetProperty("containers")[0];
        var env = container.GetProperty("env").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e);
        string? FieldOf(string name) =>
            env[name].TryGetProperty("valueFrom", out var from) && from.TryGetProperty("fieldRef", out var field) ? field.GetProperty("fieldPath").GetString() : null;

        Assert.Equal("Kubernetes", env["ProfileGrid__Clustering"].GetProperty("value").GetString());
        Assert.Equal("metadata.name", FieldOf("POD_NAME"));
        Assert.Equal("metadata.namespace", FieldOf("POD_NAMESPACE"));
        Assert.Equal("status.podIP", FieldOf("POD_IP"));
        // Orleans' ids and the silo's own come from the same labels, which the silo checks at start-up.
        Assert.Equal("metadata.labels['orleans/serviceId']", FieldOf("ORLEANS_SERVICE_ID"));
        Assert.Equal(FieldOf("ORLEANS_SERVICE_ID"), FieldOf("ProfileGrid__ServiceId"));
        Assert.Equal("metadata.labels['orleans/clusterId']", FieldOf("ORLEANS_CLUSTER_ID"));
        Assert.Equal(FieldOf("ORLEANS_CLUSTER_ID"), FieldOf("ProfileGrid__ClusterId"));

        // Keys are on by default, so every pod needs the one operator key: the bootstrap file lies in a read-only mount
        // of a Secret, the same file in every pod (a pod creating its own would leave callers a key for one silo only).
        var keyFile = env["ProfileGrid__Auth__BootstrapKeyFile"].GetProperty("value").GetString()!;
        var mount = container.GetProperty("volumeMounts").EnumerateArray()
            .Single(m => keyFile.StartsWith(m.GetProperty("mountPath").GetString()!.TrimEnd('/') + "/", StringComparison.Ordinal));
        Assert.True(mount.GetProperty("readOnly").GetBoolean());
        var volume = pod.GetProperty("volumes").EnumerateArray().Single(v => v.GetProperty("name").GetString() == mount.GetProperty("name").GetString());
        Assert.Equal("profilegrid-admin-key", volume.GetProperty("secret").GetProperty("secretName").GetString());
        Assert.Equal("admin.key", Path.GetFileName(keyFile));

        // The pods run as the account the Role is bound to, and the Role lets Orleans read, watch and delete pods.
        var account = items.Single(i => i.GetProperty("kind").GetString() == "ServiceAccount").GetProperty("metadata").GetProperty("name").GetString();
        Assert.Equal(account, pod.GetProperty("serviceAccountName").GetString());
        var binding = items.Single(i => i.GetProperty("kind").GetString() == "RoleBinding");
        Assert.Equal(account, binding.GetProperty("subjects")[0].GetProperty("name").GetString());
        var role = items.Single(i => i.GetProperty("kind").GetString() == "Role");
        Assert.Equal(role.GetProperty("metadata").GetProperty("name").GetString(), binding.GetProperty("roleRef").GetProperty("name").GetString());
        var rule = role.GetProperty("rules")[0];
        Assert.Equal(["pods"], rule.GetProperty("resources").EnumerateArray().Select(r => r.GetString()));
        Assert.Subset(rule.GetProperty("verbs").EnumerateArray().Select(v => v.GetString()).ToHashSet(), new HashSet<string?> { "get", "watch", "list", "delete" });

        // Every ProfileGrid__ variable is a setting the silo knows: a typo would be refused at start-up, in every pod.
        var settings = env.Keys.Where(k => k.StartsWith("ProfileGrid__", StringComparison.Ordinal))
            .ToDictionary(k => k.Replace("__", ":", StringComparison.Ordinal), k => (string?)"x");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        Assert.Empty(SettingsCheck.UnknownKeys(configuration));
    }

    [Fact]
    public void A_kubernetes_silo_names_what_the_pod_did_not_give_it()
    {
        var settings = new HostSettings { Clustering = ClusteringProvider.Kubernetes, ServiceId = "profilegrid", ClusterId = "production" };
        var outside = settings.KubernetesProblems(_ => null);
        Assert.Contains(outside, p => p.Contains("POD_NAME, POD_NAMESPACE, POD_IP", StringComparison.Ordinal));

        var pod = new Dictionary<string, string> { ["POD_NAME"] = "profilegrid-7d9-x2", ["POD_NAMESPACE"] = "shop", ["POD_IP"] = "10.1.2.3", ["ORLEANS_SERVICE_ID"] = "profilegrid", ["ORLEANS_CLUSTER_ID"] = "production" };
        Assert.Empty(settings.KubernetesProblems(pod.GetValueOrDefault));

        pod["ORLEANS_SERVICE_ID"] = "other";
        Assert.Contains(settings.KubernetesProblems(pod.GetValueOrDefault), p => p.Contains("ORLEANS_SERVICE_ID is 'other' but ServiceId is 'profilegrid'", StringComparison.Ordinal));
    }

    /// <summary>The JSON objects kubectl prints one after the other.</summary>
    private static IEnumerable<JsonElement> JsonValues(string text)
    {
        var items = new List<JsonElement>();
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(text), new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            using var document = JsonDocument.ParseValue(ref reader);
            items.Add(document.RootElement.Clone());
        }

        return items;
    }

    /// <summary>Runs a tool; fails the test with its error output unless it exits with 0, and returns its standard output.</summary>
    private static (int Exit, string Output) Run(string package, string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{program} is missing; install Debian's {package} (test.sh does).", ex);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"{program} {string.Join(' ', arguments)} did not finish within 60 s (none of these tools needs a server).");
            }

            Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output.Result}\n{errors.Result}");
            return (process.ExitCode, output.Result);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ProfileGrid.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("ProfileGrid.sln is not above the test output.");
    }
}
