package server

import (
	"errors"
	"fmt"

	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/config"
)

// ValidateConfig checks cfg completely: the configuration's own rules
// (config.Validate) and the settings whose rules belong to a component
// (the argon2id costs, checked by authn/password). Every problem is
// reported at once, each prefixed with the setting's name.
func ValidateConfig(cfg config.Config) error {
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := passwordParams(cfg); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// passwordParams are the argon2id parameters of new password hashes, as
// configured (password-argon2-memory, -iterations, -parallelism).
func passwordParams(cfg config.Config) (password.Params, error) {
	p, err := password.ParamsFrom(cfg.PasswordMemory, cfg.PasswordIterations, cfg.PasswordParallelism)
	if err != nil {
		return password.Params{}, fmt.Errorf("password-argon2-*: %w", err)
	}
	return p, nil
}
