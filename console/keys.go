package console

import (
	"context"
	"slices"

	"github.com/sesame-idp/sesame/oidc/keys"
)

// Keys shows the signing keys and rotates them.
type Keys struct {
	km    *keys.Manager
	st    stepUpStore
	audit *Audit
}

// List returns every signing key with its state (next, current, retired).
func (s *Keys) List(ctx context.Context) ([]keys.KeyInfo, error) {
	l, err := s.km.List(ctx)
	if l == nil {
		l = []keys.KeyInfo{}
	}
	return l, err
}

// Rotate rotates the key of one algorithm now, or every algorithm when
// alg is "".
func (s *Keys) Rotate(ctx context.Context, alg string) ([]keys.KeyInfo, error) {
	if alg != "" && !slices.Contains(s.km.Algs(), alg) {
		return nil, invalid("alg", "unknown algorithm %q (have: %v)", alg, s.km.Algs())
	}
	if err := checkStepUp(ctx, s.st); err != nil {
		return nil, err
	}
	before, err := s.km.List(ctx)
	if err != nil {
		return nil, err
	}
	if alg == "" {
		err = s.km.RotateAll(ctx)
	} else {
		err = s.km.Rotate(ctx, alg)
	}
	if err != nil {
		return nil, err
	}
	after, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	target := alg
	if target == "" {
		target = "all"
	}
	if err := s.audit.Record(ctx, "keys.rotate", "signing_key", target, before, after); err != nil {
		return nil, err
	}
	return after, nil
}
