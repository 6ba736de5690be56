package console

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passlink"
)

// PasslinkSender sends an administrator's sign-in link; *passlink.Service
// satisfies it.
type PasslinkSender interface {
	SendAdmin(ctx context.Context, r passlink.AdminRequest) (*passlink.AdminSent, error)
	// SendAccountMail queues a mail about the account (a re-verification
	// link, a notice), in the caller's transaction; Kick sends it.
	SendAccountMail(ctx context.Context, m passlink.AccountMail) error
	Kick()
}

var _ PasslinkSender = (*passlink.Service)(nil)

// PasslinkSent is the answer to "send a sign-in link".
type PasslinkSent struct {
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	ExpiresAt string `json:"expires_at"`
}

var (
	errPasslinksOff = problem(http.StatusConflict, "passlinks-off", "Sign-in links are off",
		"No mail server is configured, so no sign-in link can be sent.")
	errPasslinkLimited = problem(http.StatusTooManyRequests, "rate-limited", "Too many sign-in links",
		"Too many links were sent to this address or by you; try again later.")
	errUserDisabled = problem(http.StatusConflict, "user-disabled", "The user is disabled",
		"Enable the account before sending a sign-in link.")
)

// SetPasslinks turns on "send a sign-in link" (nil turns it off).
func (s *Users) SetPasslinks(p PasslinkSender) { s.passlinks = p }

// CanSendPasslink reports whether sign-in links can be sent at all.
func (s *Users) CanSendPasslink() bool { return s.passlinks != nil }

// SendPasslink mails the user a sign-in link from an administrator and
// records who sent it to whom. The link signs in whichever browser opens
// it (after a confirmation), once: amr ["otp"], acr basic.
func (s *Users) SendPasslink(ctx context.Context, id string) (*PasslinkSent, error) {
	if s.passlinks == nil {
		return nil, errPasslinksOff
	}
	act := ActorFrom(ctx)
	sender := act.ID
	if sender == "" {
		sender = act.Label // the CLI and the system have no id
	}
	sent, err := s.passlinks.SendAdmin(ctx, passlink.AdminRequest{UserID: id, AdminID: act.Kind + ":" + sender, IP: act.IP})
	switch {
	case errors.Is(err, passlink.ErrRateLimited):
		return nil, errPasslinkLimited
	case errors.Is(err, passlink.ErrUserUnavailable):
		return nil, errUserDisabled
	case errors.Is(err, passlink.ErrInvalidEmail):
		return nil, invalid("email", "the user's address cannot receive mail")
	case err != nil:
		return nil, err
	}
	out := &PasslinkSent{UserID: id, Email: sent.Email, ExpiresAt: sent.ExpiresAt}
	if err := s.audit.Record(ctx, "user.send_passlink", "user", id, nil,
		map[string]string{"email": sent.Email, "request_id": sent.RequestID, "expires_at": sent.ExpiresAt}); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Console) apiSendPasslink(g *gin.Context) error {
	sent, err := c.Users.SendPasslink(g.Request.Context(), g.Param("id"))
	if err != nil {
		return err
	}
	g.JSON(http.StatusAccepted, sent)
	return nil
}
