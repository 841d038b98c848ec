package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "CONTRACTGATE_"

// ApplyEnv overrides fields from environment variables named EnvPrefix plus the field's key
// path in upper snake case (CONTRACTGATE_SERVER_ADDR, CONTRACTGATE_UPSTREAMS_CATALOG_BASEURL).
// Values are YAML scalars or flow sequences ("5s", "true", "[a, b]"). A variable with the
// prefix that names no field is an error, so a typo does not pass silently.
func (c *Config) ApplyEnv(environ []string) error {
	vars := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) && k != EnvPrefix+"CONFIG" {
			vars[k] = v
		}
	}
	if len(vars) == 0 {
		return nil
	}
	// Upstreams named only in the environment are created, so a deployment can add an
	// upstream's base URL without a file.
	for k := range vars {
		rest, ok := strings.CutPrefix(k, EnvPrefix+"UPSTREAMS_")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, "_")
		name = strings.ToLower(name)
		if c.Upstreams == nil {
			c.Upstreams = map[string]Upstream{}
		}
		if _, ok := c.Upstreams[name]; !ok {
			c.Upstreams[name] = Upstream{}
		}
	}
	used := map[string]bool{}
	if err := applyEnv(reflect.ValueOf(c).Elem(), EnvPrefix[:len(EnvPrefix)-1], "", vars, used); err != nil {
		return err
	}
	var unknown []string
	for k := range vars {
		if !used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%s: names no configuration key", strings.Join(unknown, ", "))
	}
	return nil
}

func applyEnv(v reflect.Value, envName, keyPath string, vars map[string]string, used map[string]bool) error {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			key, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if opts == "inline" {
				if err := applyEnv(v.Field(i), envName, keyPath, vars, used); err != nil {
					return err
				}
				continue
			}
			if key == "" || key == "-" || !t.Field(i).IsExported() {
				continue
			}
			if err := applyEnv(v.Field(i), envName+"_"+strings.ToUpper(key), join(keyPath, key), vars, used); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		for _, k := range v.MapKeys() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			name := k.String()
			if err := applyEnv(elem, envName+"_"+strings.ToUpper(name), join(keyPath, name), vars, used); err != nil {
				return err
			}
			v.SetMapIndex(k, elem)
		}
		return nil
	}
	raw, ok := vars[envName]
	if !ok {
		return nil
	}
	used[envName] = true
	ptr := reflect.New(v.Type())
	if err := yaml.Unmarshal([]byte(raw), ptr.Interface()); err != nil {
		return &FieldError{Path: keyPath, Problem: fmt.Sprintf("cannot use %s=%q: not a valid %s", envName, raw, v.Type())}
	}
	v.Set(ptr.Elem())
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
