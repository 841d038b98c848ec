package idempotency

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps records in Redis, shared by every replica. A key's value is the claiming
// request's token (tokenLength hex characters) followed by the JSON record; both operations
// are single-key Lua scripts, atomic on the server (and Redis Cluster compatible). Every key
// has a TTL. Records must never be evicted (see Config.Redis: maxmemory-policy noeviction);
// when Redis is out of memory, claims are refused and finishes still store (Redis 7+).
type redisStore struct {
	client *redis.Client
	prefix string
}

// claimScript returns the live value of KEYS[1], or creates it as ARGV[1] expiring after
// ARGV[2] milliseconds and returns nil: SET NX PX that also tells who holds the key. Its
// shebang declares no flags, so Redis refuses to run it when out of memory (an OOM error):
// no new claim then, rather than one that pushes memory further.
var claimScript = redis.NewScript(`#!lua
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`)

// finishScript ends the claim of token ARGV[1] on KEYS[1]: when the key is absent or starts
// with that token, it stores ARGV[2] for ARGV[3] milliseconds, or deletes the key when ARGV[2]
// is empty, and returns 1; when another token holds the key it returns 0. It runs even when
// Redis is out of memory (allow-oom): the operation ran under a claim, and failing to store
// its response would let a retry run it again.
var finishScript = redis.NewScript(`#!lua flags=allow-oom
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  if v then redis.call('DEL', KEYS[1]) end
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`)

func newRedisStore(cfg RedisConfig) *redisStore {
	opt := &redis.Options{
		Addr:         cfg.Addr,
		Username:     cfg.Username,
		Password:     cfg.Password,
		DB:           cfg.DB,
		DialTimeout:  cfg.Timeout,
		ReadTimeout:  cfg.Timeout,
		WriteTimeout: cfg.Timeout,
		// Both scripts are safe to repeat (a repeated claim finds its own token, a repeated
		// finish writes the same value), so one retry rides out a dropped connection. Dialing
		// is not retried: Redis being down must fail the request quickly (503), not slowly.
		MaxRetries:      1,
		DialerRetries:   1,
		DisableIdentity: true,
	}
	if cfg.TLS {
		host, _, _ := net.SplitHostPort(cfg.Addr)
		opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	}
	return &redisStore{client: redis.NewClient(opt), prefix: cfg.KeyPrefix}
}

func (s *redisStore) claim(ctx context.Context, _, key string, r *record, lease time.Duration) (*record, error) {
	value, err := encodeRecord(r)
	if err != nil {
		return nil, err
	}
	got, err := claimScript.Run(ctx, s.client, []string{s.prefix + key}, value, lease.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if redis.IsOOMError(err) {
		// Out of memory: no new claim, but a read still answers repeats of known keys
		// (replay, in flight, reused).
		got, err = s.client.Get(ctx, s.prefix+key).Result()
		if errors.Is(err, redis.Nil) {
			return nil, &fullError{cause: errRedisOOM}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency: redis claim: %w", err)
	}
	existing, err := decodeRecord(got)
	if err != nil {
		return nil, err
	}
	if existing.token == r.token {
		// A retried script whose first run did claim the key: the claim is ours.
		return nil, nil
	}
	return existing, nil
}

func (s *redisStore) finish(ctx context.Context, _, key, token string, final *record, ttl time.Duration) error {
	value := ""
	if final != nil {
		var err error
		if value, err = encodeRecord(final); err != nil {
			return err
		}
	}
	n, err := finishScript.Run(ctx, s.client, []string{s.prefix + key}, token, value, ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("idempotency: redis finish: %w", err)
	}
	if n == 0 {
		return errClaimLost
	}
	return nil
}

// errRedisOOM: Redis refused a claim because it is out of memory (maxmemory reached).
var errRedisOOM = errors.New("idempotency: redis is out of memory (maxmemory reached); new claims are refused")

// checkPolicy warns when Redis's maxmemory-policy may evict live records (anything but
// noeviction). A Redis that does not allow CONFIG GET (managed services) is not checked.
func (s *redisStore) checkPolicy(logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*s.client.Options().ReadTimeout)
	defer cancel()
	got, err := s.client.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		logger.Debug("idempotency: could not read Redis's maxmemory-policy", "error", err.Error())
		return
	}
	if p, ok := got["maxmemory-policy"]; ok && p != "noeviction" {
		logger.Warn("idempotency: Redis may evict live idempotency records; set maxmemory-policy noeviction",
			"maxmemoryPolicy", p)
	}
}

// Close closes the connections to Redis.
func (s *redisStore) Close() error { return s.client.Close() }

// tokenLength is the length of a claim token: 16 random bytes in hex.
const tokenLength = 32

func encodeRecord(r *record) (string, error) {
	if len(r.token) != tokenLength {
		return "", fmt.Errorf("idempotency: token %q is not %d characters", r.token, tokenLength)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("idempotency: encoding a record: %w", err)
	}
	return r.token + string(b), nil
}

func decodeRecord(v string) (*record, error) {
	if len(v) < tokenLength {
		return nil, fmt.Errorf("idempotency: stored record of %d bytes is too short", len(v))
	}
	r := &record{token: v[:tokenLength]}
	if err := json.Unmarshal([]byte(v[tokenLength:]), r); err != nil {
		return nil, fmt.Errorf("idempotency: decoding a stored record: %w", err)
	}
	return r, nil
}
