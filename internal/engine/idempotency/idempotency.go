package idempotency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// HeaderReplayed is set to "true" on a replayed response.
const HeaderReplayed = "Idempotent-Replayed"

// New returns the idempotency step: RequireKey (the key check) and Middleware (the claim
// and replay of DESIGN section 1); Close releases its store (stops the memory store's
// sweeper, or closes the Redis connections).
//
// It takes part only in the operations of table whose contract declares Idempotency-Key as
// a required header (the set is computed once, here). It belongs right before the handler,
// after authentication, rate limiting, RequireKey and request validation, so that a request
// rejected on the way claims no key. For such a request it:
//
//   - keys a record by (caller subject, or the anonymous scope; operation id; key), so two
//     callers never see each other's records;
//   - fingerprints the request (method, route, path, canonical query, body bytes);
//   - claims the key atomically for cfg.Lease and runs the handler, teeing the response;
//     the final 2xx-4xx response (status, replayable headers, body) is stored for cfg.TTL,
//     while a 5xx releases the key so that the client may retry;
//   - replays a stored response to a repeat with the same fingerprint, without calling the
//     handler, with Idempotent-Replayed: true and a meta block describing the replay;
//   - answers 422 IDEMPOTENCY_KEY_REUSED to a repeat with another fingerprint (checked
//     first, whatever the state), and 409 IDEMPOTENCY_KEY_IN_FLIGHT while the first runs;
//   - fails closed with 503 UPSTREAM_UNAVAILABLE when the store cannot be reached: never a
//     second run of a write;
//   - never drops a live record to make room for another: a caller over its quota (memory
//     store) gets 429 RATE_LIMIT_EXCEEDED, a full store (or Redis out of memory) 503
//     UPSTREAM_UNAVAILABLE, both with Retry-After when known, for new keys only; stored
//     records are still replayed.
//
// cfg must be defaulted (Config.SetDefaults, which config.Load applies); New validates it.
// Safe for concurrent use; the memory store is per instance, Redis is shared by every
// instance pointed at it.
func New(cfg Config, table *routes.Table, logger *slog.Logger, opts ...Option) (*Idempotency, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	if table == nil {
		return nil, errors.New("idempotency: a route table is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var st store
	if cfg.Store == StoreRedis {
		if o.redis == nil {
			return nil, errors.New("idempotency: store is redis but no Redis client was given (redis.addrs)")
		}
		rs := newRedisStore(o.redis, cfg.Redis)
		go rs.checkPolicy(logger)
		st = rs
	} else {
		st = newMemoryStore(cfg)
	}
	return &Idempotency{cfg: cfg, ops: requiredOps(table), store: st, logger: logger, done: make(chan struct{})}, nil
}

// Option is a dependency given to New.
type Option func(*options)

type options struct {
	redis redis.UniversalClient
}

// WithRedis is the process's Redis client (package redisclient), required by Store: redis.
// The store shares it and never closes it.
func WithRedis(c redis.UniversalClient) Option { return func(o *options) { o.redis = c } }

// Idempotency is the idempotency step. Safe for concurrent use.
type Idempotency struct {
	cfg Config
	// ops are the operations whose contract requires Idempotency-Key (resolved at start-up).
	ops    map[*routes.Operation]bool
	store  store
	logger *slog.Logger
	// late saves answers the store failed to save (see finish) until done is closed.
	late      sync.WaitGroup
	done      chan struct{}
	closeOnce sync.Once
}

// Middleware returns the claim/replay middleware: last before the handler.
func (m *Idempotency) Middleware() echo.MiddlewareFunc { return m.wrap }

// Close releases the store. Safe to call twice.
func (m *Idempotency) Close() error {
	m.closeOnce.Do(func() { close(m.done) })
	m.late.Wait()
	return m.store.Close()
}

func (m *Idempotency) wrap(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		op := routes.Current(c)
		if op == nil || !m.ops[op] {
			return next(c)
		}
		return m.serve(c, next, op)
	}
}

func (m *Idempotency) serve(c echo.Context, next echo.HandlerFunc, op *routes.Operation) error {
	req := c.Request()
	ctx := req.Context()
	key, err := keyOf(req.Header)
	if err != nil {
		return err
	}
	fp, err := fingerprint(req, op.Route)
	if err != nil {
		return err
	}
	id, authenticated := identity.FromContext(ctx)
	scope := callerScope(id.Subject, authenticated)
	rk := recordKey(id.Subject, authenticated, op.ID, key)
	claim := &record{token: newToken(), Fingerprint: fp}
	claimedAt := time.Now() // the lease runs from about now: a failed store may be retried until it ends

	// The claim is not cut short when the client goes away: it either holds or not, and a
	// held claim is always finished (the handler then sees the cancelled context).
	existing, err := m.store.claim(context.WithoutCancel(ctx), scope, rk, claim, m.cfg.Lease)
	if full, ok := errors.AsType[*fullError](err); ok {
		m.observe(op, OutcomeFull)
		return fullAnswer(full)
	}
	switch {
	case err != nil:
		m.observe(op, OutcomeStoreError)
		// Retry-After: a store outage (a Sentinel failover, a Cluster node replaced) usually
		// heals within seconds.
		return apierror.ErrUpstreamUnavailable.WithMessage("The idempotency store is unavailable; retry later").
			WithHeader("Retry-After", "1").Wrap(err)
	case existing == nil:
		return m.run(c, next, op, scope, rk, claim, claimedAt.Add(m.cfg.Lease))
	case existing.Fingerprint != fp:
		m.observe(op, OutcomeReused)
		return apierror.ErrIdempotencyKeyReused
	case !existing.Done:
		m.observe(op, OutcomeInFlight)
		return apierror.ErrIdempotencyKeyInFlight
	default:
		m.observe(op, OutcomeReplayed)
		m.replay(c, existing)
		return nil
	}
}

// fullAnswer is the answer to a claim refused for want of room: 429 when the caller's own
// quota is full, 503 when the store is; both with Retry-After when known.
func fullAnswer(full *fullError) error {
	e := apierror.ErrUpstreamUnavailable.WithMessage("The idempotency store is full; retry later")
	if full.caller {
		e = apierror.ErrRateLimitExceeded.WithMessage("Too many Idempotency-Key records are kept for this caller; retry later")
	}
	if full.retryAfter > 0 {
		e = e.WithHeader("Retry-After", strconv.FormatInt(int64((full.retryAfter+time.Second-1)/time.Second), 10))
	}
	return e.Wrap(full)
}

// run calls the handler under the claim, records the final response and ends the claim.
func (m *Idempotency) run(c echo.Context, next echo.HandlerFunc, op *routes.Operation, scope, rk string, claim *record, leaseEnd time.Time) error {
	res := c.Response()
	rec := &recorder{ResponseWriter: res.Writer}
	res.Writer = rec
	finished := false
	defer func() {
		res.Writer = rec.ResponseWriter
		if !finished {
			// The handler panicked: release the key (the recover middleware answers 500).
			m.finish(c.Request().Context(), op, scope, rk, claim.token, nil, leaseEnd)
		}
	}()

	// A claimed request runs to its end even when its client goes away: cut off midway, the
	// upstream may have acted with nobody knowing, and the retry the key exists for would
	// run it again. Its upstream calls stay bounded by their own timeouts (under the lease).
	req := c.Request()
	c.SetRequest(req.WithContext(detach(req.Context())))
	defer c.SetRequest(req)

	if err := next(c); err != nil {
		// The stored response must be the final one, errors included, and only the one error
		// handler (apierror.Handler) renders errors. So render the error here, through that
		// handler, into the recording writer; then report it handled (nil) so that Echo does
		// not render it a second time. The handler logs the error and records its code on the
		// request's correlation.Info, where the observation step finds it to count and log it.
		c.Error(err)
	}

	status, header, body := rec.result()
	var final *record
	// A 5xx (or a client gone) releases the key; so does a bulky error body (nothing was
	// done, so a retry that runs again duplicates nothing): see Config.MaxErrorBodyBytes.
	bulkyError := status >= http.StatusBadRequest && len(body) > m.cfg.MaxErrorBodyBytes
	if status < http.StatusInternalServerError && status != apierror.StatusClientClosedRequest && !bulkyError {
		final = &record{token: claim.token, Fingerprint: claim.Fingerprint, Done: true,
			Status: status, Header: header, Body: bytes.Clone(body)} // exactly its size, not the buffer's
		if info := correlation.FromContext(c.Request().Context()); info != nil {
			final.Code = info.ErrorCode
		}
	}
	finished = true
	m.finish(c.Request().Context(), op, scope, rk, claim.token, final, leaseEnd)
	return nil
}

// finish ends the claim, whatever happened to the request (its context may be cancelled).
// A final answer the store failed to save (Redis failing over) is saved late, in the
// background, retried until the claim's lease ends: until then the claim keeps the key (a
// repeat answers 409 in flight), so a late save is as good as a prompt one, while giving up
// would let a retry run the operation again. The client's answer does not wait for it.
func (m *Idempotency) finish(ctx context.Context, op *routes.Operation, scope, rk, token string, final *record, leaseEnd time.Time) {
	ctx = context.WithoutCancel(ctx)
	err := m.store.finish(ctx, scope, rk, token, final, m.cfg.TTL)
	if final != nil && err != nil && !errors.Is(err, errClaimLost) && time.Now().Before(leaseEnd) {
		m.late.Add(1)
		go func() {
			defer m.late.Done()
			err := m.saveLate(ctx, scope, rk, token, final, leaseEnd)
			if err == nil {
				m.logger.InfoContext(ctx, "idempotency answer saved late, after the store failed", "operation", op.ID)
			}
			m.reportFinish(ctx, op, final, err)
		}()
		return
	}
	m.reportFinish(ctx, op, final, err)
}

// saveLate retries saving final, backing off, until it is saved, the claim is lost, the
// lease ends or the step is closed; it returns the last error.
func (m *Idempotency) saveLate(ctx context.Context, scope, rk, token string, final *record, leaseEnd time.Time) error {
	var err error
	pause := 50 * time.Millisecond
	for {
		t := time.NewTimer(pause)
		select {
		case <-m.done:
			t.Stop()
			return errors.Join(err, errors.New("idempotency: closed before the answer was saved"))
		case <-t.C:
		}
		err = m.store.finish(ctx, scope, rk, token, final, m.cfg.TTL)
		if err == nil || errors.Is(err, errClaimLost) || !time.Now().Add(pause).Before(leaseEnd) {
			return err
		}
		pause = min(2*pause, time.Second)
	}
}

// reportFinish logs before it observes, so an observed outcome's log line is already written.
func (m *Idempotency) reportFinish(ctx context.Context, op *routes.Operation, final *record, err error) {
	switch {
	case err == nil && final != nil:
		m.observe(op, OutcomeStored)
	case err == nil:
		m.observe(op, OutcomeReleased)
	case errors.Is(err, errClaimLost):
		m.logger.WarnContext(ctx, "idempotency claim expired while the handler ran; raise idempotency.lease",
			"operation", op.ID, "lease", m.cfg.Lease.String())
		m.observe(op, OutcomeLeaseExpired)
	default:
		m.logger.ErrorContext(ctx, "idempotency record not saved; a retry may run the operation again",
			"operation", op.ID, "error", err.Error())
		m.observe(op, OutcomeStoreError)
	}
}

func (m *Idempotency) observe(op *routes.Operation, o Outcome) {
	if m.cfg.Observe != nil {
		m.cfg.Observe(op.ID, o)
	}
}
