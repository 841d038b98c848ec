// Package redisclient builds the one Redis client a gateway process shares between its
// stores (rate limits, idempotency records): standalone, Sentinel or Cluster, with auth and
// TLS as configured, one connection pool per process.
package redisclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/contractgate/contractgate/internal/engine/configerr"
	"github.com/contractgate/contractgate/internal/engine/tlsconfig"
)

// The topologies (Config.Mode).
const (
	ModeStandalone = "standalone"
	ModeSentinel   = "sentinel"
	ModeCluster    = "cluster"
)

// Defaults applied by SetDefaults.
const (
	DefaultDialTimeout = time.Second
	DefaultTimeout     = time.Second
)

// Config is the `redis` block: where Redis is and how to reach it. The stores that use it
// (rateLimit.store, idempotency.store: redis) set their own, shorter, deadline per call.
type Config struct {
	// Mode is standalone, sentinel or cluster. Default: inferred, sentinel when masterName is
	// set, cluster when addrs has more than one address, else standalone.
	Mode string `yaml:"mode"`
	// Addrs are host:port addresses: the server (standalone), the sentinels (sentinel), or
	// some of the cluster's nodes (cluster; the rest are discovered). Empty (default): no
	// Redis, and no store may use it.
	Addrs []string `yaml:"addrs"`
	// MasterName is the name the sentinels monitor the master under (sentinel only).
	MasterName string `yaml:"masterName"`
	// Username and Password authenticate to the Redis servers (ACL user, or password only).
	// Keep the password out of the file: CONTRACTGATE_REDIS_PASSWORD sets it. Default none.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// SentinelUsername and SentinelPassword authenticate to the sentinels, when they require
	// it (sentinel only; CONTRACTGATE_REDIS_SENTINELPASSWORD). Default none.
	SentinelUsername string `yaml:"sentinelUsername"`
	SentinelPassword string `yaml:"sentinelPassword"`
	// DB is the database number (standalone and sentinel; a cluster has only 0). Default 0.
	DB int `yaml:"db"`
	// TLS, when enabled, connects with TLS (to the sentinels too), verifying each server's
	// certificate against its own host name unless tls.serverName is set.
	TLS TLS `yaml:"tls"`
	// DialTimeout bounds connecting to one server. Default 1s.
	DialTimeout time.Duration `yaml:"dialTimeout"`
	// Timeout bounds each command's read and write; the stores' own timeouts
	// (rateLimit.redis.timeout, idempotency.redis.timeout) cut it shorter per call.
	// Default 1s.
	Timeout time.Duration `yaml:"timeout"`
	// PoolSize is the number of connections per server, shared by every store. Default 0:
	// go-redis's default (10 per GOMAXPROCS).
	PoolSize int `yaml:"poolSize"`
}

// TLS configures TLS to Redis: tlsconfig.ClientConfig (caFile, certFile/keyFile for mTLS,
// serverName, minVersion) once Enabled.
type TLS struct {
	// Enabled connects with TLS. Default false.
	Enabled                bool `yaml:"enabled"`
	tlsconfig.ClientConfig `yaml:",inline"`
}

// Enabled reports whether Redis is configured (Addrs set).
func (c Config) Enabled() bool { return len(c.Addrs) > 0 }

// SetDefaults fills every unset field with its documented default; Mode is inferred.
func (c *Config) SetDefaults() {
	if c.Mode == "" && c.Enabled() {
		switch {
		case c.MasterName != "":
			c.Mode = ModeSentinel
		case len(c.Addrs) > 1:
			c.Mode = ModeCluster
		default:
			c.Mode = ModeStandalone
		}
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	c.TLS.SetDefaults()
}

// Validate checks a defaulted Config and returns every problem, each a *configerr.FieldError
// with a path relative to the block ("addrs[1]", "db"), joined; nil when fine. With
// production true, tls.insecureSkipVerify is refused.
func (c Config) Validate(production bool) error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &configerr.FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	if !c.Enabled() {
		if c.Mode != "" || c.MasterName != "" {
			bad("addrs", "must name at least one host:port when mode or masterName is set")
		}
		return errors.Join(errs...)
	}
	for i, a := range c.Addrs {
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			bad(fmt.Sprintf("addrs[%d]", i), "must be host:port, got %q", a)
		}
	}
	switch c.Mode {
	case ModeStandalone:
		if len(c.Addrs) != 1 {
			bad("addrs", "must be exactly one address in standalone mode, got %d", len(c.Addrs))
		}
	case ModeSentinel:
		if c.MasterName == "" {
			bad("masterName", "is required in sentinel mode (the name the sentinels monitor)")
		}
	case ModeCluster:
		if c.DB != 0 {
			bad("db", "must be 0 in cluster mode (a cluster has only database 0), got %d", c.DB)
		}
	default:
		bad("mode", "must be %s, %s or %s, got %q", ModeStandalone, ModeSentinel, ModeCluster, c.Mode)
	}
	if c.Mode != ModeSentinel {
		if c.MasterName != "" {
			bad("masterName", "is only used in sentinel mode, got mode %q", c.Mode)
		}
		if c.SentinelUsername != "" || c.SentinelPassword != "" {
			bad("sentinelPassword", "sentinelUsername and sentinelPassword are only used in sentinel mode")
		}
	}
	if c.DB < 0 {
		bad("db", "must not be negative, got %d", c.DB)
	}
	if c.DialTimeout <= 0 {
		bad("dialTimeout", "must be a positive duration, got %s", c.DialTimeout)
	}
	if c.Timeout <= 0 {
		bad("timeout", "must be a positive duration, got %s", c.Timeout)
	}
	if c.PoolSize < 0 {
		bad("poolSize", "must not be negative, got %d", c.PoolSize)
	}
	for _, fe := range tlsconfig.FieldErrors(c.TLS.Validate(production)) {
		bad("tls."+fe.Path, "%s", fe.Problem)
	}
	return errors.Join(errs...)
}

// New returns the client of cfg (defaulted; New validates it, as not production): a
// *redis.Client, *redis.FailoverClient (Sentinel) or *redis.ClusterClient. It does not
// connect: connections are made on first use, so a process starts while Redis is down.
// Commands are never retried by the client (a store decides what is safe to repeat) and obey
// their context's deadline. Close it once, after every store using it is closed.
func New(cfg Config) (redis.UniversalClient, error) {
	if !cfg.Enabled() {
		return nil, errors.New("redisclient: no addresses configured (redis.addrs)")
	}
	if err := cfg.Validate(false); err != nil {
		return nil, fmt.Errorf("redisclient: %w", err)
	}
	opt := &redis.UniversalOptions{
		Addrs:                 cfg.Addrs,
		MasterName:            cfg.MasterName,
		Username:              cfg.Username,
		Password:              cfg.Password,
		SentinelUsername:      cfg.SentinelUsername,
		SentinelPassword:      cfg.SentinelPassword,
		DB:                    cfg.DB,
		PoolSize:              cfg.PoolSize,
		DialTimeout:           cfg.DialTimeout,
		ReadTimeout:           cfg.Timeout,
		WriteTimeout:          cfg.Timeout,
		PoolTimeout:           cfg.Timeout,
		ContextTimeoutEnabled: true,
		// No retry by the client: a retried rate-limit script could charge a request twice;
		// the idempotency store retries its own (repeatable) scripts.
		MaxRetries:               -1,
		DialerRetries:            1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if cfg.TLS.Enabled {
		tc, err := tlsconfig.NewClient(cfg.TLS.ClientConfig)
		if err != nil {
			return nil, fmt.Errorf("redisclient: tls: %w", err)
		}
		opt.Dialer = tlsDialer(tc, cfg.DialTimeout)
	}
	switch cfg.Mode {
	case ModeSentinel:
		return redis.NewFailoverClient(opt.Failover()), nil
	case ModeCluster:
		return redis.NewClusterClient(opt.Cluster()), nil
	default:
		return redis.NewClient(opt.Simple()), nil
	}
}

// tlsDialer connects with TLS, verifying each server (Cluster nodes and sentinels are many)
// against its own host name unless tc names one.
func tlsDialer(tc *tls.Config, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := &net.Dialer{Timeout: timeout, KeepAlive: 5 * time.Minute}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c := tc.Clone()
		if c.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			c.ServerName = strings.Trim(host, "[]")
		}
		return (&tls.Dialer{NetDialer: nd, Config: c}).DialContext(ctx, network, addr)
	}
}
