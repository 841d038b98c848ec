package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps records in Redis, shared by every replica. A key's value is the claiming
// request's token (tokenLength hex characters) followed by the JSON record; both operations
// are single-key Lua scripts, atomic on the server, so a record (claim, lease as its expiry,
// stored answer) lives in one Redis Cluster slot. Every key has a TTL. Records must never be
// evicted (see Config.Store: maxmemory-policy noeviction); when Redis is out of memory,
// claims are refused and finishes still store (Redis 7+).
type redisStore struct {
	client   redis.UniversalClient // the process's; not closed here
	prefix   string
	timeout  time.Duration
	replicas int
}

// claimSource returns the live value of KEYS[1], or creates it as ARGV[1] expiring after
// ARGV[2] milliseconds and returns nil: SET NX PX that also tells who holds the key. Its
// shebang declares no flags, so Redis refuses to run it when out of memory (an OOM error):
// no new claim then, rather than one that pushes memory further.
const claimSource = `#!lua
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`

// finishSource ends the claim of token ARGV[1] on KEYS[1]: when the key is absent or starts
// with that token, it stores ARGV[2] for ARGV[3] milliseconds, or deletes the key when ARGV[2]
// is empty, and returns 1; when another token holds the key it returns 0. It runs even when
// Redis is out of memory (allow-oom): the operation ran under a claim, and failing to store
// its response would let a retry run it again.
const finishSource = `#!lua flags=allow-oom
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  if v then redis.call('DEL', KEYS[1]) end
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`

var (
	claimScript  = redis.NewScript(claimSource)
	finishScript = redis.NewScript(finishSource)
)

func newRedisStore(client redis.UniversalClient, cfg RedisConfig) *redisStore {
	return &redisStore{client: client, prefix: cfg.KeyPrefix, timeout: cfg.Timeout, replicas: cfg.WaitReplicas}
}

// errNotReplicated: fewer replicas than Config.Redis.WaitReplicas acknowledged a write in time.
var errNotReplicated = errors.New("idempotency: fewer replicas than redis.waitReplicas acknowledged the write")

// run runs the script on key, within the store's timeout. Both scripts are safe to repeat (a
// repeated claim finds its own token, a repeated finish writes the same value), so one retry
// rides out a connection that dropped (a restarted or failed-over server); an answer from
// Redis, or the deadline, is not retried. With replicas, the script and a WAIT go down one
// connection (a pipeline, to the key's node) and fewer acknowledgements are errNotReplicated.
func (s *redisStore) run(ctx context.Context, source string, script *redis.Script, key string, args ...any) (*redis.Cmd, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var cmd *redis.Cmd
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if s.replicas == 0 {
			cmd = script.Run(ctx, s.client, []string{key}, args...)
			err = cmd.Err()
		} else {
			cmd, err = s.runReplicated(ctx, source, key, args...)
		}
		if !retryable(ctx, err) {
			break
		}
	}
	return cmd, err
}

func (s *redisStore) runReplicated(ctx context.Context, source, key string, args ...any) (*redis.Cmd, error) {
	var node redis.Cmdable = s.client
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		// WAIT counts the replicas of the connection's node: send both to the key's master.
		n, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return redis.NewCmd(ctx), err
		}
		node = n
	}
	var cmd *redis.Cmd
	var wait *redis.Cmd
	// WAIT's own timeout leaves the rest of the deadline to read its answer.
	waitMs := max(1, s.timeout.Milliseconds()/2)
	_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		cmd = p.Eval(ctx, source, []string{key}, args...)
		wait = p.Do(ctx, "WAIT", s.replicas, waitMs)
		return nil
	})
	if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
		if cc, ok := s.client.(*redis.ClusterClient); ok && isMoved(err) {
			cc.ReloadState(ctx)
		}
		return cmd, err
	}
	acked, err := wait.Int64()
	if err != nil {
		return cmd, err
	}
	if acked < int64(s.replicas) {
		return cmd, errNotReplicated
	}
	return cmd, cmd.Err()
}

// isMoved reports a Cluster redirection (the slot moved since the client's last view).
func isMoved(err error) bool {
	return redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")
}

// retryable reports a failure worth one more attempt: the connection failed (not an answer
// from Redis, not redis.Nil), and the deadline has not passed.
func retryable(ctx context.Context, err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || ctx.Err() != nil {
		return false
	}
	if _, ok := errors.AsType[redis.Error](err); ok {
		return false
	}
	return !errors.Is(err, errNotReplicated)
}

func (s *redisStore) claim(ctx context.Context, _, key string, r *record, lease time.Duration) (*record, error) {
	value, err := encodeRecord(r)
	if err != nil {
		return nil, err
	}
	rk := s.prefix + key
	cmd, err := s.run(ctx, claimSource, claimScript, rk, value, lease.Milliseconds())
	if errors.Is(err, errNotReplicated) {
		// The claim may be gone after a failover: release it (if it is ours, and the server
		// still answers) and refuse, so that nothing runs under it.
		_, _ = s.run(ctx, finishSource, finishScript, rk, r.token, "", 0)
		return nil, fmt.Errorf("idempotency: redis claim: %w", err)
	}
	var got string
	if err == nil {
		got, err = cmd.Text()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if redis.IsOOMError(err) {
		// Out of memory: no new claim, but a read still answers repeats of known keys
		// (replay, in flight, reused).
		rctx, cancel := context.WithTimeout(ctx, s.timeout)
		got, err = s.client.Get(rctx, rk).Result()
		cancel()
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
	cmd, err := s.run(ctx, finishSource, finishScript, s.prefix+key, token, value, ttl.Milliseconds())
	if err != nil {
		return fmt.Errorf("idempotency: redis finish: %w", err)
	}
	n, err := cmd.Int()
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*s.timeout)
	defer cancel()
	got, err := configGet(ctx, s.client, "maxmemory-policy")
	if err != nil {
		logger.Debug("idempotency: could not read Redis's maxmemory-policy", "error", err.Error())
		return
	}
	if p, ok := got["maxmemory-policy"]; ok && p != "noeviction" {
		logger.Warn("idempotency: Redis may evict live idempotency records; set maxmemory-policy noeviction",
			"maxmemoryPolicy", p)
	}
}

// configGet reads a setting: from one master of a Cluster (every node should agree), else from
// the (master) server.
func configGet(ctx context.Context, c redis.UniversalClient, name string) (map[string]string, error) {
	if cc, ok := c.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		var got map[string]string
		err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			m, err := n.ConfigGet(ctx, name).Result()
			mu.Lock()
			defer mu.Unlock()
			if err == nil && got == nil {
				got = m
			}
			return err
		})
		return got, err
	}
	return c.ConfigGet(ctx, name).Result()
}

// Close leaves the shared client open (the process closes it after every store).
func (s *redisStore) Close() error { return nil }

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
