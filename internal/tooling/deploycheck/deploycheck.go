// Package deploycheck renders the Helm chart (deploy/helm/contractgate) with the helm pinned
// in go.mod (`go tool helm`, offline) and checks what it renders: every manifest decoded
// strictly into the Kubernetes API types, the probes, ports and Service wiring, the
// shutdown timings against the gateway's drain, and the ConfigMap's config file loaded and
// validated by the gateway's own config.Load with the environment the Deployment gives it.
// make deploy-check runs its tests; they also build and start the container image.
package deploycheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/contractgate/contractgate/internal/engine/auth"
	"github.com/contractgate/contractgate/internal/engine/config"
)

// Render runs `go tool helm template` on the chart at chartDir with the values files, as
// release "contractgate" in namespace "gateway", from the module at moduleDir, and returns
// the rendered manifests.
func Render(ctx context.Context, moduleDir, chartDir string, valueFiles ...string) ([]byte, error) {
	args := []string{"tool", "helm", "template", "contractgate", chartDir, "--namespace", "gateway"}
	for _, f := range valueFiles {
		args = append(args, "--values", f)
	}
	return runHelm(ctx, moduleDir, args)
}

// RenderSet is Render with --set assignments (key=value) instead of values files.
func RenderSet(ctx context.Context, moduleDir, chartDir string, sets ...string) ([]byte, error) {
	args := []string{"tool", "helm", "template", "contractgate", chartDir, "--namespace", "gateway"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return runHelm(ctx, moduleDir, args)
}

func runHelm(ctx context.Context, moduleDir string, args []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm template: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// ServiceMonitor is the part of a prometheus-operator monitoring.coreos.com/v1
// ServiceMonitor that the chart writes, decoded strictly (an unknown field is an error).
type ServiceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// Manifests are the objects the chart rendered, one of each kind at most.
type Manifests struct {
	Deployment     *appsv1.Deployment
	Service        *corev1.Service
	ConfigMap      *corev1.ConfigMap
	HPA            *autoscalingv2.HorizontalPodAutoscaler
	PDB            *policyv1.PodDisruptionBudget
	ServiceMonitor *ServiceMonitor
}

// Decode splits a rendered stream into its documents and decodes each strictly into the API
// type of its apiVersion and kind: an unknown field, a wrong type, an unknown kind or a
// second object of one kind is an error.
func Decode(stream []byte) (*Manifests, error) {
	m := &Manifests{}
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(stream), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var target any
		var dup bool
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			dup, m.Deployment = m.Deployment != nil, &appsv1.Deployment{}
			target = m.Deployment
		case "v1 Service":
			dup, m.Service = m.Service != nil, &corev1.Service{}
			target = m.Service
		case "v1 ConfigMap":
			dup, m.ConfigMap = m.ConfigMap != nil, &corev1.ConfigMap{}
			target = m.ConfigMap
		case "autoscaling/v2 HorizontalPodAutoscaler":
			dup, m.HPA = m.HPA != nil, &autoscalingv2.HorizontalPodAutoscaler{}
			target = m.HPA
		case "policy/v1 PodDisruptionBudget":
			dup, m.PDB = m.PDB != nil, &policyv1.PodDisruptionBudget{}
			target = m.PDB
		case "monitoring.coreos.com/v1 ServiceMonitor":
			dup, m.ServiceMonitor = m.ServiceMonitor != nil, &ServiceMonitor{}
			target = m.ServiceMonitor
		default:
			return nil, fmt.Errorf("document %d: unexpected %s %s", i, head.APIVersion, head.Kind)
		}
		if dup {
			return nil, fmt.Errorf("document %d: a second %s", i, head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), target); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, head.Kind, err)
		}
	}
	return m, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// ContainerName is the gateway's container in the Deployment.
const ContainerName = "contractgate"

// Check verifies the wiring of m and returns the gateway's configuration as the Deployment
// would load it. secrets gives a value for each environment variable taken from a Secret,
// by variable name: a variable without one is an error (the chart reads a secret the
// gateway does not). The configuration is loaded with config.Load from the ConfigMap's file
// and the container's environment; variables outside CONTRACTGATE_* that are not named by
// the configuration (auth.jwt.hmacKeys[].secretEnv) are errors unless known to the runtime
// (GOMEMLIMIT, OTEL_*). HMAC secrets named by secretEnv are read from the process
// environment by config validation, so the caller sets them there too. Every problem
// found is returned, joined.
func Check(m *Manifests, secrets map[string]string) (*config.Config, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if m.Deployment == nil || m.Service == nil || m.ConfigMap == nil {
		return nil, errors.New("the chart must render a Deployment, a Service and a ConfigMap")
	}
	pod := m.Deployment.Spec.Template
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == ContainerName })
	if i < 0 {
		return nil, fmt.Errorf("deployment: no container %q", ContainerName)
	}
	c := pod.Spec.Containers[i]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}

	// Selectors select the pods.
	if !selects(m.Deployment.Spec.Selector.MatchLabels, pod.Labels) {
		bad("deployment: selector %v does not select its pod labels %v", m.Deployment.Spec.Selector.MatchLabels, pod.Labels)
	}
	if len(m.Service.Spec.Selector) == 0 || !selects(m.Service.Spec.Selector, pod.Labels) {
		bad("service: selector %v does not select the pods %v", m.Service.Spec.Selector, pod.Labels)
	}
	for _, p := range m.Service.Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok {
			bad("service port %s: targetPort %s is no container port", p.Name, p.TargetPort.String())
		}
	}
	if m.PDB != nil && (m.PDB.Spec.Selector == nil || !selects(m.PDB.Spec.Selector.MatchLabels, pod.Labels)) {
		bad("poddisruptionbudget: its selector does not select the pods")
	}
	if m.HPA != nil {
		ref := m.HPA.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.Name != m.Deployment.Name {
			bad("hpa: scales %s %s, not the Deployment %s", ref.Kind, ref.Name, m.Deployment.Name)
		}
		if m.Deployment.Spec.Replicas != nil {
			bad("deployment: sets replicas while an HPA scales it (every upgrade would reset the count)")
		}
	}
	if sm := m.ServiceMonitor; sm != nil {
		if !selects(sm.Spec.Selector.MatchLabels, m.Service.Labels) {
			bad("servicemonitor: its selector does not select the Service")
		}
		for _, e := range sm.Spec.Endpoints {
			if !slices.ContainsFunc(m.Service.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port }) {
				bad("servicemonitor: endpoint port %q is no Service port", e.Port)
			}
			if e.Path != "/metrics" {
				bad("servicemonitor: endpoint path %q, want /metrics", e.Path)
			}
		}
	}

	// Probes: the operator endpoints, on a port the container declares.
	probe := func(name string, p *corev1.Probe, path string) {
		switch {
		case p == nil || p.HTTPGet == nil:
			bad("%s probe: want an httpGet probe of %s", name, path)
		case p.HTTPGet.Path != path:
			bad("%s probe: path %s, want %s", name, p.HTTPGet.Path, path)
		case p.HTTPGet.Port.StrVal != "" && ports[p.HTTPGet.Port.StrVal] == 0:
			bad("%s probe: port %s is no container port", name, p.HTTPGet.Port.String())
		case p.HTTPGet.Port.StrVal == "" && !slices.Contains(slices.Collect(maps.Values(ports)), p.HTTPGet.Port.IntVal):
			bad("%s probe: port %d is no container port", name, p.HTTPGet.Port.IntVal)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")

	// Security: non-root, read-only, no capabilities, the runtime's seccomp profile.
	errs = append(errs, checkSecurity(pod.Spec.SecurityContext, c.SecurityContext)...)
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		bad("container: cpu and memory requests are required (the HPA and the scheduler use them)")
	}
	if pod.Annotations["checksum/config"] == "" {
		bad("deployment: no checksum/config annotation: a config change would not roll the pods")
	}

	// The config file: mounted from the ConfigMap, named by CONTRACTGATE_CONFIG.
	file, environ, secretEnv, err := configWiring(m, c, secrets)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	dir, err := os.MkdirTemp("", "deploycheck")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		return nil, err
	}
	cfg, err := config.Load(path, environ, nil)
	if err != nil {
		return nil, errors.Join(append(errs, fmt.Errorf("configmap config.yaml: %w", err))...)
	}
	for _, name := range secretEnv {
		if !slices.ContainsFunc(cfg.Auth.JWT.HMACKeys, func(k auth.HMACKey) bool { return k.SecretEnv == name }) {
			bad("env %s: from a Secret, but the gateway reads no such variable (not CONTRACTGATE_*, not a secretEnv of the config)", name)
		}
	}

	// Listeners: the config's addresses are the container's ports.
	if port(cfg.Server.Addr) != ports["http"] {
		bad("config server.addr %s: not the container port http (%d)", cfg.Server.Addr, ports["http"])
	}
	if cfg.Admin.Addr == "" || port(cfg.Admin.Addr) != ports["admin"] {
		bad("config admin.addr %q: not the container port admin (%d)", cfg.Admin.Addr, ports["admin"])
	}

	// Shutdown: preStop sleeps the drain delay; the grace period covers preStop, the drain
	// and the shutdown grace.
	drain := cfg.Server.DrainDelay
	var preStop time.Duration
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		bad("container: no preStop sleep (the image has no shell: the sleep action is the only drain hook)")
	} else {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		if preStop != drain {
			bad("preStop sleeps %s, the gateway's server.drainDelay is %s", preStop, drain)
		}
	}
	need := preStop + drain + cfg.Server.ShutdownGrace
	if tgp := pod.Spec.TerminationGracePeriodSeconds; tgp == nil || time.Duration(*tgp)*time.Second <= need {
		bad("terminationGracePeriodSeconds must exceed preStop + drainDelay + shutdownGrace (%s)", need)
	}
	return cfg, errors.Join(errs...)
}

// configWiring returns the ConfigMap's config file the container reads, its environment
// (os.Environ form) with the given secret values, and the names of the variables from
// Secrets outside CONTRACTGATE_*.
func configWiring(m *Manifests, c corev1.Container, secrets map[string]string) (file string, environ, secretEnv []string, err error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	vars := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			vars[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			v, ok := secrets[e.Name]
			if !ok {
				bad("env %s: from Secret %s, but no test value is known for it (is it a variable the gateway reads?)", e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
			vars[e.Name] = v
			if !strings.HasPrefix(e.Name, config.EnvPrefix) {
				secretEnv = append(secretEnv, e.Name)
			}
		case e.ValueFrom.ResourceFieldRef != nil:
			if e.Name != "GOMEMLIMIT" {
				bad("env %s: from a resource field; only GOMEMLIMIT is expected", e.Name)
			}
		default:
			bad("env %s: an unexpected valueFrom", e.Name)
		}
	}
	for name := range vars {
		if !strings.HasPrefix(name, config.EnvPrefix) && !strings.HasPrefix(name, "OTEL_") &&
			name != "GOMEMLIMIT" && !slices.Contains(secretEnv, name) {
			bad("env %s: not read by the gateway (CONTRACTGATE_*, OTEL_*, GOMEMLIMIT)", name)
		}
		environ = append(environ, name+"="+vars[name])
	}
	slices.Sort(environ)
	path := vars[config.EnvPrefix+"CONFIG"]
	if path == "" && slices.Contains(c.Args, "--config") {
		path = c.Args[slices.Index(c.Args, "--config")+1]
	}
	if path == "" {
		return "", nil, nil, errors.Join(append(errs, errors.New("container: neither CONTRACTGATE_CONFIG nor --config names a config file"))...)
	}
	dir, name := filepath.Split(path)
	mi := slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return filepath.Clean(vm.MountPath) == filepath.Clean(dir) })
	if mi < 0 {
		return "", nil, nil, errors.Join(append(errs, fmt.Errorf("container: no volume mounted at %s (CONTRACTGATE_CONFIG=%s)", dir, path))...)
	}
	vol := m.Deployment.Spec.Template.Spec.Volumes
	vi := slices.IndexFunc(vol, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[mi].Name })
	if vi < 0 || vol[vi].ConfigMap == nil || vol[vi].ConfigMap.Name != m.ConfigMap.Name {
		return "", nil, nil, errors.Join(append(errs, fmt.Errorf("container: %s is not the ConfigMap %s", dir, m.ConfigMap.Name))...)
	}
	file, ok := m.ConfigMap.Data[name]
	if !ok {
		return "", nil, nil, errors.Join(append(errs, fmt.Errorf("configmap %s: no key %s", m.ConfigMap.Name, name))...)
	}
	return file, environ, secretEnv, errors.Join(errs...)
}

func checkSecurity(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c == nil {
		return []error{errors.New("container: no securityContext")}
	}
	nonRoot := c.RunAsNonRoot
	if nonRoot == nil && pod != nil {
		nonRoot = pod.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		bad("securityContext: runAsNonRoot must be true")
	}
	if c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
		bad("securityContext: readOnlyRootFilesystem must be true")
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		bad("securityContext: allowPrivilegeEscalation must be false")
	}
	if c.Capabilities == nil || !slices.Contains(c.Capabilities.Drop, "ALL") || len(c.Capabilities.Add) > 0 {
		bad("securityContext: capabilities must drop ALL and add none")
	}
	seccomp := c.SeccompProfile
	if seccomp == nil && pod != nil {
		seccomp = pod.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		bad("securityContext: seccompProfile must be RuntimeDefault")
	}
	return errs
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func port(addr string) int32 {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return -1
	}
	return int32(n)
}
