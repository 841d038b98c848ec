// Package configerr is the configuration error every package's Validate reports: a problem
// located at a key path, so that start-up errors name the key to fix.
package configerr

import "errors"

// FieldError is one configuration problem at a key path, relative to the configuration
// being validated ("jwt.issuer"); the config package prefixes the section
// ("auth.jwt.issuer").
type FieldError struct {
	Path    string
	Problem string
}

// Error returns "path: problem".
func (e *FieldError) Error() string { return e.Path + ": " + e.Problem }

// List returns every *FieldError in err (as joined with errors.Join), in order.
func List(err error) []*FieldError {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range joined.Unwrap() {
			out = append(out, List(e)...)
		}
		return out
	}
	if fe, ok := errors.AsType[*FieldError](err); ok {
		return []*FieldError{fe}
	}
	return nil
}
