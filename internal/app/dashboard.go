package app

import (
	"context"
	"sync"

	"github.com/contractgate/contractgate/gen/gateway"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/upstream"

	catalogapi "github.com/contractgate/contractgate/gen/catalog"
	ordersapi "github.com/contractgate/contractgate/gen/orders"
	usersapi "github.com/contractgate/contractgate/gen/users"
)

// Dashboard sizes.
const (
	recentOrders    = 5
	recommendations = 5
)

// The parts of the dashboard meta.degraded names when they are left out (getDashboard's
// description in api/openapi.yaml lists them).
const (
	degradedRecentOrders    = "recentOrders"
	degradedRecommendations = "recommendations"
)

// GetDashboard aggregates the caller's profile (essential), recent orders and
// recommendations (both optional), fetched in parallel. An optional part that fails is left
// out and named in meta.degraded; only the profile failing fails the request.
func (h *Handlers) GetDashboard(ctx context.Context, _ gateway.GetDashboardRequestObject) (gateway.GetDashboardResponseObject, error) {
	who, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var (
		wg                 sync.WaitGroup
		profile            *gateway.Profile
		profileErr         error
		recent             *[]gateway.Order
		recs               *[]gateway.Product
		recentErr, recsErr error
	)
	wg.Go(func() { profile, profileErr = h.profile(ctx, who.Subject) })
	wg.Go(func() { recent, recentErr = h.recentOrders(ctx, who.Subject) })
	wg.Go(func() { recs, recsErr = h.recommendations(ctx, who.Subject) })
	wg.Wait()
	if profileErr != nil {
		return nil, profileErr
	}
	var degraded []string
	if recentErr != nil {
		degraded = append(degraded, degradedRecentOrders)
	}
	if recsErr != nil {
		degraded = append(degraded, degradedRecommendations)
	}
	meta := envelope.Meta(ctx)
	if len(degraded) > 0 {
		meta.Degraded = &degraded
	}
	return gateway.GetDashboard200JSONResponse{
		Success: true,
		Data:    gateway.Dashboard{Profile: *profile, RecentOrders: recent, Recommendations: recs},
		Meta:    meta,
	}, nil
}

func (h *Handlers) profile(ctx context.Context, subject string) (*gateway.Profile, error) {
	resp, err := h.up.Users.GetUser(ctx, subject)
	u, err := upstream.Answer[usersapi.User](upUsers, resp, err, statusOK)
	if err != nil {
		return nil, err
	}
	return &gateway.Profile{
		Id:          u.Id,
		Name:        u.DisplayName,
		Email:       u.Email,
		Tier:        gateway.ProfileTier(u.Tier),
		MemberSince: u.CreatedAt,
	}, nil
}

func (h *Handlers) recentOrders(ctx context.Context, subject string) (*[]gateway.Order, error) {
	limit := int32(recentOrders)
	resp, err := h.up.Orders.ListOrders(ctx, &ordersapi.ListOrdersParams{UserId: subject, Limit: &limit})
	page, err := upstream.Answer[ordersapi.OrderPage](upOrders, resp, err, statusOK)
	if err != nil {
		return nil, err
	}
	out := orders(page.Items)
	return &out, nil
}

func (h *Handlers) recommendations(ctx context.Context, subject string) (*[]gateway.Product, error) {
	limit := int32(recommendations)
	res, err := h.up.Catalog.GetRecommendationsWithResponse(ctx, &catalogapi.GetRecommendationsParams{UserId: subject, Limit: &limit})
	if err := upstream.Check(upCatalog, res, err, statusOK); err != nil {
		return nil, err
	}
	body, err := upstream.Require(upCatalog, res.JSON200)
	if err != nil {
		return nil, err
	}
	out := products(body.Items)
	return &out, nil
}
