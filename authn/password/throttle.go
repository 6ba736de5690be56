package password

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// Limit is one rate limit: at most N attempts per Window (fixed windows
// aligned to multiples of Window, held in the database by the limiter, so
// they hold across replicas).
type Limit struct {
	N      int
	Window time.Duration
}

// Limits throttle password attempts, in three groups of growing windows.
// An attempt passes through them in order (IP, then account from this IP,
// then account) and stops at the first that refuses: so a refused attempt
// is counted only where it was refused, hammering an exhausted minute
// window never eats into the hour or the day, and the wait grows with the
// attempts rather than locking the account: a few quick tries cost a
// minute, a persistent guesser from one address waits out the hour, and
// only a distributed one reaches the day limit of the account.
//
// The account key includes the current password hash, so a reset (by an
// emailed link, which the throttle does not gate) starts the account's
// counts afresh: an attacker who spends the account's day limit cannot
// keep its owner out past a reset. Unknown addresses are counted by
// address, the same way, so the answer never differs.
type Limits struct {
	// IP: every attempt from one client address (password spraying).
	IP []Limit
	// AccountIP: attempts on one account from one client address (a
	// person mistyping, or one guesser).
	AccountIP []Limit
	// Account: attempts on one account from anywhere.
	Account []Limit
}

// DefaultLimits: 5 attempts a minute and 20 an hour on one account from one
// address; 100 a day on one account; 30 a minute and 300 an hour from one
// address on all accounts.
var DefaultLimits = Limits{
	IP:        []Limit{{30, time.Minute}, {300, time.Hour}},
	AccountIP: []Limit{{5, time.Minute}, {20, time.Hour}},
	Account:   []Limit{{100, 24 * time.Hour}},
}

func (l Limits) validate() error {
	for _, group := range [][]Limit{l.IP, l.AccountIP, l.Account} {
		for _, x := range group {
			if x.N < 1 || x.Window < time.Second {
				return fmt.Errorf("invalid limit %d per %s", x.N, x.Window)
			}
		}
	}
	if len(l.AccountIP) == 0 && len(l.Account) == 0 {
		return errors.New("no per-account limit")
	}
	return nil
}

// accountKey names an account for the throttle: the user and their
// current password hash, or the address when there is no such account.
func accountKey(normEmail string, u *models.User, row *models.UserPassword) string {
	switch {
	case u == nil:
		return "email:" + normEmail
	case row == nil:
		return "user:" + u.ID + ":"
	default:
		return "user:" + u.ID + ":" + row.Hash
	}
}

// throttle counts an attempt against the limits (the limiter stores only
// keyed hashes of these keys) and returns a *ThrottledError at the first
// one exceeded. A store error fails closed.
func (s *Service) throttle(ctx context.Context, account, ip string) error {
	type check struct {
		by, key string
		limits  []Limit
	}
	checks := []check{
		{"ip", "password:ip:" + ip, s.limits.IP},
		{"account_ip", "password:account-ip:" + account + "\x00" + ip, s.limits.AccountIP},
		{"account", "password:account:" + account, s.limits.Account},
	}
	for _, c := range checks {
		for _, l := range c.limits {
			ok, retry, err := s.limit.Allow(ctx, c.key, l.N, l.Window)
			if err != nil {
				return fmt.Errorf("password: throttle: %w", err)
			}
			if !ok {
				return &ThrottledError{RetryAfter: retry, By: c.by}
			}
		}
	}
	return nil
}
