package console

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Problem is an RFC 9457 problem detail (httpx.Problem): the one error
// shape of the admin API (application/problem+json) and of the console's
// JSON endpoints, written by httpx.WriteProblem.
type Problem = httpx.Problem

// FieldError is one rejected field.
type FieldError = httpx.FieldError

func problem(status int, kind, title, detail string) *Problem {
	return httpx.NewProblem(status, kind, title, detail)
}

// Errors the services return; the API maps them with toProblem.
var (
	// ErrLastAdmin refuses a change that would leave no enabled admin.
	ErrLastAdmin = problem(http.StatusConflict, "last-admin", "The last admin cannot be removed",
		"Make another user admin first.")
	// ErrSelf refuses an admin disabling, demoting or deleting themself.
	ErrSelf = problem(http.StatusConflict, "self", "You cannot do this to your own account",
		"Ask another admin.")
	errUnauthenticated = problem(http.StatusUnauthorized, "unauthenticated", "Authentication required",
		"Sign in to the console with a passkey, or present an access token with the sesame:admin scope.")
	errForbidden = problem(http.StatusForbidden, "forbidden", "Not allowed",
		"This needs an admin signed in with a passkey or security key.")
	errCSRF = problem(http.StatusForbidden, "csrf", "Missing or invalid CSRF token",
		"Send the console's CSRF token in the X-CSRF-Token header.")
	errCrossSite = problem(http.StatusForbidden, "cross-site", "Cross-site request refused", "")
	// ErrStepUpRequired asks for a fresh passkey confirmation.
	ErrStepUpRequired = problem(http.StatusForbidden, "step-up-required", "Confirm with your passkey",
		"This action needs a fresh confirmation with your passkey (POST /console/stepup/options, then /console/stepup/verify) or your password and security key (/console/stepup/password/options, then /console/stepup/password/verify).")
	errNotFound = problem(http.StatusNotFound, "not-found", "Not found", "")
)

// invalid is a 422 for one field.
func invalid(field, format string, args ...any) *Problem {
	p := problem(http.StatusUnprocessableEntity, "invalid", "Invalid request", "")
	p.Errors = []FieldError{{Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args}}
	return p
}

// toProblem maps any error to a problem; a database outage is a 503
// (abort sets Retry-After), unexpected errors a 500 whose cause the
// middleware logs.
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		cp := *p
		return &cp
	}
	var ve *clients.ValidationError
	if errors.As(err, &ve) {
		out := problem(http.StatusUnprocessableEntity, "invalid", "Invalid request", "")
		collect(err, &out.Errors)
		return out
	}
	switch {
	case errors.Is(err, models.ErrUnavailable):
		return httpx.OutageProblem(err)
	case errors.Is(err, models.ErrNotFound):
		return problem(http.StatusNotFound, "not-found", "Not found", "")
	case errors.Is(err, models.ErrAlreadyExists):
		return problem(http.StatusConflict, "conflict", "Already exists", "")
	}
	out := problem(http.StatusInternalServerError, "internal", "Something went wrong", "")
	out.Cause = err
	return out
}

// collect flattens joined validation errors into field errors.
func collect(err error, out *[]FieldError) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collect(e, out)
		}
		return
	}
	var ve *clients.ValidationError
	if errors.As(err, &ve) {
		*out = append(*out, FieldError{Field: ve.Field, Message: ve.Message, Format: ve.Format, Args: ve.Args})
	}
}
