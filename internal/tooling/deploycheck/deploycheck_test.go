package deploycheck

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/contractgate/contractgate/internal/engine/config"
)

// The chart, relative to the module root.
const chart = "deploy/helm/contractgate"

// secrets are test values for every variable the chart takes from a Secret: a variable the
// chart adds without one here fails Check.
var secrets = map[string]string{
	"CONTRACTGATE_REDIS_PASSWORD": "redis-test-password",
	"JWT_HMAC_SECRET":             "jwt-test-secret-0123456789abcdef0123456789",
	"CONTRACTGATE_AUTH_APIKEYS":   "[{id: ci, owner: ci-bot, sha256: " + strings.Repeat("ab", 32) + ", scopes: [orders:read]}]",
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return root
}

func render(t *testing.T, root string, valueFiles ...string) *Manifests {
	t.Helper()
	return decode(t, renderBytes(t, root, valueFiles...))
}

func renderBytes(t *testing.T, root string, valueFiles ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // the first run builds helm
	defer cancel()
	out, err := Render(ctx, root, chart, valueFiles...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decode(t *testing.T, out []byte) *Manifests {
	t.Helper()
	m, err := Decode(out)
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	return m
}

// wantRedis checks the Redis wiring the chart wrote: the process's client (mode, addresses,
// master, the password from the Secret) and both stores on it.
func wantRedis(t *testing.T, cfg *config.Config, mode string, addrs []string, master string, waitReplicas int) {
	t.Helper()
	r := cfg.Redis
	if r.Mode != mode || !slices.Equal(r.Addrs, addrs) || r.MasterName != master || r.Password != secrets["CONTRACTGATE_REDIS_PASSWORD"] {
		t.Errorf("redis: mode %q addrs %v master %q password %q; want %s %v %q and the Secret's", r.Mode, r.Addrs, r.MasterName, r.Password, mode, addrs, master)
	}
	if cfg.RateLimit.Store != "redis" || cfg.Idempotency.Store != "redis" || cfg.Idempotency.Redis.WaitReplicas != waitReplicas {
		t.Errorf("stores %q %q, waitReplicas %d; want both on redis, waitReplicas %d", cfg.RateLimit.Store, cfg.Idempotency.Store, cfg.Idempotency.Redis.WaitReplicas, waitReplicas)
	}
}

// TestChartValuesSets renders the chart with each values set of its ci/ folder, decodes
// every manifest strictly and checks the wiring, then what each set is for.
func TestChartValuesSets(t *testing.T) {
	root := moduleRoot(t)
	t.Setenv("JWT_HMAC_SECRET", secrets["JWT_HMAC_SECRET"]) // read by config validation (secretEnv)
	sets, err := filepath.Glob(filepath.Join(root, chart, "ci", "*-values.yaml"))
	if err != nil || len(sets) < 5 {
		t.Fatalf("values sets: %v %v", sets, err)
	}
	for _, set := range sets {
		name := strings.TrimSuffix(filepath.Base(set), "-values.yaml")
		t.Run(name, func(t *testing.T) {
			m := render(t, root, set)
			cfg, err := Check(m, secrets)
			if err != nil {
				t.Fatal(err)
			}
			d := m.Deployment
			switch name {
			case "default":
				if m.HPA != nil || m.ServiceMonitor != nil || m.PDB == nil {
					t.Errorf("default: want a PDB, no HPA, no ServiceMonitor; got hpa=%v sm=%v pdb=%v", m.HPA != nil, m.ServiceMonitor != nil, m.PDB != nil)
				}
				if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
					t.Errorf("default replicas: %v", d.Spec.Replicas)
				}
				if cfg.Env != config.EnvProduction || cfg.Redis.Enabled() || cfg.RateLimit.Store != "memory" || cfg.Idempotency.Store != "memory" {
					t.Errorf("default config: env %s, redis %+v, stores %q %q", cfg.Env, cfg.Redis, cfg.RateLimit.Store, cfg.Idempotency.Store)
				}
				if cfg.Server.DrainDelay != 5*time.Second || !cfg.Admin.MetricsOnAdminOnly {
					t.Errorf("default: drainDelay %s, metricsOnAdminOnly %v", cfg.Server.DrainDelay, cfg.Admin.MetricsOnAdminOnly)
				}
			case "redis-standalone":
				wantRedis(t, cfg, "standalone", []string{"redis-master.redis:6379"}, "", 0)
				if len(cfg.Auth.APIKeys) != 1 || cfg.Auth.APIKeys[0].ID != "ci" {
					t.Errorf("api keys from the Secret: %+v", cfg.Auth.APIKeys)
				}
				if k := cfg.Auth.JWT.HMACKeys; len(k) != 1 || k[0].SecretEnv != "JWT_HMAC_SECRET" || k[0].KID != "prod-1" {
					t.Errorf("jwt hmac key from the Secret: %+v", k)
				}
			case "redis-sentinel":
				wantRedis(t, cfg, "sentinel", []string{"redis-sentinel-0.redis:26379", "redis-sentinel-1.redis:26379", "redis-sentinel-2.redis:26379"}, "mymaster", 1)
			case "redis-cluster":
				wantRedis(t, cfg, "cluster", []string{"redis-cluster-0.redis-cluster:6379", "redis-cluster-1.redis-cluster:6379", "redis-cluster-2.redis-cluster:6379"}, "", 0)
				if !cfg.Redis.TLS.Enabled || cfg.Redis.Username != "contractgate" {
					t.Errorf("cluster: tls %v, username %q", cfg.Redis.TLS.Enabled, cfg.Redis.Username)
				}
			case "monitoring":
				if m.HPA == nil || m.ServiceMonitor == nil || d.Spec.Replicas != nil {
					t.Fatalf("monitoring: want an HPA and a ServiceMonitor and no fixed replicas")
				}
				if m.ServiceMonitor.Metadata.Labels["release"] != "kube-prometheus-stack" {
					t.Errorf("servicemonitor labels: %v", m.ServiceMonitor.Metadata.Labels)
				}
				if cfg.Server.DrainDelay != 10*time.Second || cfg.Server.ShutdownGrace != 20*time.Second || cfg.Log.Level != "warn" {
					t.Errorf("monitoring: drain %s grace %s level %s", cfg.Server.DrainDelay, cfg.Server.ShutdownGrace, cfg.Log.Level)
				}
				if *d.Spec.Template.Spec.TerminationGracePeriodSeconds != 2*10+20+10 {
					t.Errorf("terminationGracePeriodSeconds %d", *d.Spec.Template.Spec.TerminationGracePeriodSeconds)
				}
			}
		})
	}
}

// TestCheckFindsBrokenWiring breaks one thing at a time in the default rendering: Check must
// name it.
func TestCheckFindsBrokenWiring(t *testing.T) {
	rendered := renderBytes(t, moduleRoot(t))
	container := func(m *Manifests) *corev1.Container { return &m.Deployment.Spec.Template.Spec.Containers[0] }
	cases := []struct {
		name    string
		breakIt func(m *Manifests)
		want    string
	}{
		{"readiness path", func(m *Manifests) { container(m).ReadinessProbe.HTTPGet.Path = "/ready" }, "readiness probe: path /ready"},
		{"liveness port", func(m *Manifests) { container(m).LivenessProbe.HTTPGet.Port = intstr.FromString("metrics") }, "liveness probe: port metrics"},
		{"service target", func(m *Manifests) { m.Service.Spec.Ports[0].TargetPort = intstr.FromString("web") }, "targetPort web"},
		{"service selector", func(m *Manifests) { m.Service.Spec.Selector = map[string]string{"app": "other"} }, "service: selector"},
		{"preStop", func(m *Manifests) { container(m).Lifecycle.PreStop.Sleep.Seconds = 2 }, "preStop sleeps 2s"},
		{"grace period", func(m *Manifests) { v := int64(20); m.Deployment.Spec.Template.Spec.TerminationGracePeriodSeconds = &v }, "terminationGracePeriodSeconds"},
		{"root", func(m *Manifests) { f := false; m.Deployment.Spec.Template.Spec.SecurityContext.RunAsNonRoot = &f }, "runAsNonRoot"},
		{"writable root", func(m *Manifests) { f := false; container(m).SecurityContext.ReadOnlyRootFilesystem = &f }, "readOnlyRootFilesystem"},
		{"capabilities", func(m *Manifests) { container(m).SecurityContext.Capabilities.Drop = nil }, "drop ALL"},
		{"unknown config key", func(m *Manifests) { m.ConfigMap.Data["config.yaml"] += "\nbogus: 1\n" }, "field bogus not found"},
		{"unknown env key", func(m *Manifests) {
			container(m).Env = append(container(m).Env, corev1.EnvVar{Name: "CONTRACTGATE_SERVER_ADRR", Value: "x"})
		}, "CONTRACTGATE_SERVER_ADRR: names no configuration key"},
		{"secret nobody reads", func(m *Manifests) {
			container(m).Env = append(container(m).Env, corev1.EnvVar{Name: "REDIS_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "p"}}})
		}, "env REDIS_PASSWORD: from Secret"},
		{"config not mounted", func(m *Manifests) { container(m).VolumeMounts[0].MountPath = "/config" }, "no volume mounted at /etc/contractgate/"},
		{"admin port", func(m *Manifests) { container(m).Ports[1].ContainerPort = 9999 }, "admin.addr"},
		{"no checksum", func(m *Manifests) { delete(m.Deployment.Spec.Template.Annotations, "checksum/config") }, "checksum/config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := decode(t, rendered)
			if _, err := Check(m, secrets); err != nil {
				t.Fatalf("before breaking it: %v", err)
			}
			tc.breakIt(m)
			_, err := Check(m, secrets)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// TestDecodeIsStrict: a field the API type does not have, or a kind the chart should not
// render, is an error.
func TestDecodeIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  portz: []\n",
		"wrong type":    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: three}\n",
		"unknown kind":  "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"two services":  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: y}\n",
		"monitor field": "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoints: [{port: admin, pathh: /metrics}]}\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(doc)); err == nil {
				t.Fatal("decoded without error")
			}
		})
	}
}

// TestChartRefusesBadValues: values the gateway could not run with fail at helm template,
// naming the value.
func TestChartRefusesBadValues(t *testing.T) {
	root := moduleRoot(t)
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"redis.mode=replicated", "redis.addrs={r:6379}"}, "at '/redis/mode': value must be one of"}, // values.schema.json
		{[]string{"redis.mode=standalone"}, "redis.addrs: at least one address"},
		{[]string{"redis.mode=sentinel", "redis.addrs={s:26379}"}, "redis.masterName is required"},
		{[]string{"config.server.drainDelay=1s"}, "config.server.drainDelay is set by the chart"},
		{[]string{"config.admin.addr=:9999"}, "config.admin.addr is set by the chart"},
		{[]string{"redis.mode=standalone", "redis.addrs={r:6379}", "config.rateLimit.store=memory"}, "are set by the chart from redis.*"},
		{[]string{"redis.mode=cluster", "redis.addrs={r:6379}", "config.redis.poolSize=5"}, "are set by the chart from redis.*"},
		{[]string{"lifecycle.terminationGracePeriodSeconds=20"}, "must exceed 2 x drainSeconds + shutdownGraceSeconds (25)"},
		{[]string{"replicaCount=three"}, "replicaCount"}, // values.schema.json
	} {
		t.Run(tc.want, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			_, err := RenderSet(ctx, root, chart, tc.sets...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a failure containing %q, got %v", tc.want, err)
			}
		})
	}
}
