package binding

import (
	"context"
	"errors"
	"net/http"
)

type answer struct{}

func (o *Op) respond(ctx context.Context, resp *http.Response, err error) (Answer, error) {
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	return Answer{}, errors.New("binding: not implemented yet")
}

func (a Answer) write(w http.ResponseWriter) error {
	return errWritten
}
