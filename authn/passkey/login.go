package passkey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Result is a successful sign-in.
type Result struct {
	User       *models.User
	Credential *models.WebAuthnCredential
	// Facts are what this assertion proved about the credential.
	Facts Facts
	// AMR is AMRFor(Facts): the authentication methods (RFC 8176 §2).
	AMR []string
	// ACR is ACRFor(Facts): the assurance level reached (models/acr.go).
	ACR           string
	InteractionID string
	// Interaction is that interaction as read with the ceremony (nil when
	// there is none or it is gone; Interaction.Usable says whether it can
	// still be completed), so the caller need not read it again.
	Interaction *models.Interaction
	// GraceSynced: a synced passkey accepted under the grace policy (a
	// "block" would have refused it); the caller records GraceSynced.
	GraceSynced bool
	// GraceModel: a passkey of a model off an allow list (or without an
	// attestation) accepted under its grace mode; the caller records
	// GraceModel.
	GraceModel bool
	// AccountCredentialIDs are the ids of all the account's credentials,
	// oldest first, as read for this sign-in (the accepted-credentials
	// signal).
	AccountCredentialIDs []string
	// Ceremony is the login ceremony, still to be spent, and Use the
	// credential's state after this assertion: FinishLogin writes both
	// (RecordUse); VerifyLogin leaves them to the caller.
	Ceremony *models.WebAuthnCeremony
	Use      *models.CredentialUse
}

// BeginLogin starts a passkey sign-in. With user != nil it is
// username-first: allowCredentials lists the user's passkeys (a user
// without passkeys gets the same fake options as an unknown address, so
// the answer does not tell). With user == nil it is discoverable
// (allowCredentials empty): the "Sign in with a passkey" button and
// conditional UI (autofill), the mediation being the browser's choice.
// A disabled user gets ordinary options and is refused at the finish.
//
// It returns the JSON for PublicKeyCredential.parseRequestOptionsFromJSON
// (the publicKey member) and the ceremony id.
func (s *Service) BeginLogin(ctx context.Context, user *models.User, browserHash, interactionID string) (json.RawMessage, string, error) {
	return s.BeginLoginWith(ctx, user, Options{}, browserHash, interactionID)
}

// BeginLoginWith is BeginLogin with per-ceremony options (the requesting
// client's user verification). A ceremony begun with UV required is
// refused at the finish without the UV flag (ErrUserVerificationRequired).
func (s *Service) BeginLoginWith(ctx context.Context, user *models.User, o Options, browserHash, interactionID string) (json.RawMessage, string, error) {
	uv, err := s.uvFor(ctx, o)
	if err != nil {
		return nil, "", err
	}
	return s.beginLogin(ctx, user, models.CredentialPasskey, uv, o, browserHash, interactionID)
}

// BeginSecurityKeyLogin starts the second step of a password sign-in: an
// assertion with one of user's security keys (user verification
// discouraged; the password was the knowledge factor).
func (s *Service) BeginSecurityKeyLogin(ctx context.Context, user *models.User, browserHash, interactionID string) (json.RawMessage, string, error) {
	if user == nil {
		return nil, "", fail(ErrBadInput, "a security key sign-in needs a user")
	}
	return s.beginLogin(ctx, user, models.CredentialSecurityKey, protocol.VerificationDiscouraged, Options{}, browserHash, interactionID)
}

// BeginLoginUnknown answers a username-first sign-in for an address with
// no account: options of the same shape as a real user's, with one or two
// fake credential ids derived from the address (HMAC with
// FakeCredentialKey), so asking twice gives the same ids and the answer
// does not reveal whether the account exists. The ceremony can never
// finish successfully.
func (s *Service) BeginLoginUnknown(ctx context.Context, email, browserHash, interactionID string) (json.RawMessage, string, error) {
	return s.BeginLoginUnknownWith(ctx, email, Options{}, browserHash, interactionID)
}

// BeginLoginUnknownWith is BeginLoginUnknown with per-ceremony options, so
// the fake options have the same user verification as a real user's.
func (s *Service) BeginLoginUnknownWith(ctx context.Context, email string, o Options, browserHash, interactionID string) (json.RawMessage, string, error) {
	uv, err := s.uvFor(ctx, o)
	if err != nil {
		return nil, "", err
	}
	// The same reads as for a real user, so the time taken does not tell
	// either.
	if _, err := s.st.ListUserCredentials(ctx, "unknown:"+email); err != nil {
		return nil, "", fmt.Errorf("passkey: %w", err)
	}
	return s.beginFakeLogin(ctx, email, models.CredentialPasskey, uv, browserHash, interactionID)
}

func (s *Service) beginLogin(ctx context.Context, user *models.User, kind string, uv protocol.UserVerificationRequirement, o Options, browserHash, interactionID string) (json.RawMessage, string, error) {
	minACR := o.MinACR
	if browserHash == "" {
		return nil, "", fail(ErrBadInput, "no browser binding")
	}
	opts := []webauthn.LoginOption{webauthn.WithUserVerification(uv)}
	if user == nil {
		assertion, session, err := s.wa.BeginDiscoverableLogin(opts...)
		if err != nil {
			return nil, "", fmt.Errorf("passkey: begin discoverable login: %w", err)
		}
		return s.saveLogin(ctx, assertion, session, (&ceremonyData{Kind: kind, Mode: loginDiscoverable}).clientRules(o), "", browserHash, interactionID)
	}
	creds, err := s.st.ListUserCredentials(ctx, user.ID)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: %w", err)
	}
	wu := newWAUser(user.ID, user.Email, user.DisplayName)
	for i := range creds {
		if creds[i].Kind != kind || (minACR != "" && !CanReach(&creds[i], minACR)) || !s.ModelQualifies(ctx, o, &creds[i]) {
			continue
		}
		wc, err := toWebAuthn(&creds[i])
		if err != nil {
			return nil, "", fmt.Errorf("passkey: %w", err)
		}
		wu.creds = append(wu.creds, wc)
	}
	if len(wu.creds) == 0 {
		return s.beginFakeLogin(ctx, user.Email, kind, uv, browserHash, interactionID)
	}
	assertion, session, err := s.wa.BeginLogin(wu, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: begin login: %w", err)
	}
	return s.saveLogin(ctx, assertion, session, (&ceremonyData{Kind: kind, Mode: loginUser}).clientRules(o), user.ID, browserHash, interactionID)
}

func (s *Service) beginFakeLogin(ctx context.Context, email, kind string, uv protocol.UserVerificationRequirement, browserHash, interactionID string) (json.RawMessage, string, error) {
	if browserHash == "" {
		return nil, "", fail(ErrBadInput, "no browser binding")
	}
	opts := []webauthn.LoginOption{
		webauthn.WithUserVerification(uv),
		webauthn.WithAllowedCredentials(s.fakeCredentials(email)),
	}
	assertion, session, err := s.wa.BeginDiscoverableLogin(opts...)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: begin login: %w", err)
	}
	return s.saveLogin(ctx, assertion, session, &ceremonyData{Kind: kind, Mode: loginUnknown}, "", browserHash, interactionID)
}

// fakeCredentials derives one or two credential descriptors from the
// normalized address: lengths and transports like those of real passkeys.
func (s *Service) fakeCredentials(email string) []protocol.CredentialDescriptor {
	seed := s.fakeBytes(store.NormalizeEmail(email), 0, sha256.Size)
	n := 1 + int(seed[0]&1)
	lengths := []int{16, 20, 32, 64}
	transports := [][]protocol.AuthenticatorTransport{
		{protocol.Hybrid, protocol.Internal},
		{protocol.Internal},
	}
	out := make([]protocol.CredentialDescriptor, 0, n)
	for i := range n {
		l := lengths[int(seed[1+i])%len(lengths)]
		out = append(out, protocol.CredentialDescriptor{
			Type:         protocol.PublicKeyCredentialType,
			CredentialID: s.fakeBytes(store.NormalizeEmail(email), 1+i, l),
			Transport:    transports[int(seed[3+i])%len(transports)],
		})
	}
	return out
}

// fakeBytes is HMAC-SHA256(FakeCredentialKey, label ‖ email ‖ i ‖ block),
// expanded to n bytes.
func (s *Service) fakeBytes(email string, i, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for block := uint32(0); len(out) < n; block++ {
		m := hmac.New(sha256.New, s.fakeKey)
		m.Write([]byte("sesame passkey fake credential\x00"))
		m.Write([]byte(email))
		var b [8]byte
		binary.BigEndian.PutUint32(b[:4], uint32(i))
		binary.BigEndian.PutUint32(b[4:], block)
		m.Write(b[:])
		out = m.Sum(out)
	}
	return out[:n]
}

func (s *Service) saveLogin(ctx context.Context, assertion *protocol.CredentialAssertion, session *webauthn.SessionData, data *ceremonyData, userID, browserHash, interactionID string) (json.RawMessage, string, error) {
	options, err := json.Marshal(assertion.Response)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: encode request options: %w", err)
	}
	data.Session = *session
	sealed, err := s.sealLogin(data, userID, browserHash, interactionID)
	if err != nil {
		return nil, "", err
	}
	return options, sealed, nil
}

// ParseAssertion parses the browser's credential.toJSON() of an assertion,
// bounded to MaxResponseBytes; it is the first step of FinishLogin.
func ParseAssertion(body []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(body) > MaxResponseBytes {
		return nil, fail(ErrTooLarge, fmt.Sprintf("%d bytes", len(body)))
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, failWith(ErrInvalidResponse, "parse assertion response", err)
	}
	return parsed, nil
}

// FinishLogin verifies the browser's assertion against the ceremony and
// returns the signed-in user (WebAuthn §7.2): the ceremony (single use,
// this browser, not expired); the credential (registered, of the
// ceremony's kind, owned by the ceremony's user or, for a discoverable
// login, by the user its userHandle names; not clone-flagged); type,
// challenge, origin, RP ID hash, UP, UV when required, signature; the
// sign counter (§7.2 step 22: a counter that did not increase flags the
// credential as possibly cloned and refuses it, now and later); the user
// not disabled. Only then are the counter, flags and last use written.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID, browserHash string, body []byte) (*Result, error) {
	res, err := s.VerifyLogin(ctx, ceremonyID, browserHash, body)
	if err != nil {
		return nil, err
	}
	if err := s.RecordUse(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// RecordUse writes the writes of res's success: its ceremony spent, then
// res.Use, the credential's state after the assertion VerifyLogin
// checked. A ceremony another request finished first, or a use that lost
// the race for its counter value (or of a credential flagged meanwhile),
// is refused as UseRefused says.
func (s *Service) RecordUse(ctx context.Context, res *Result) error {
	if err := s.st.SpendCeremony(ctx, res.Ceremony); err != nil {
		if models.IsGone(err) {
			err = fmt.Errorf("%w: %w", models.ErrCeremonySpent, err)
		}
		return UseRefused(res, err)
	}
	u := res.Use
	err := s.st.RecordCredentialUse(ctx, u.CredentialID, u.PrevCount, u.SignCount, u.UserVerified, u.BackupEligible, u.BackupState, u.At)
	return UseRefused(res, err)
}

// UseRefused is the refusal of res whose writes (its ceremony's spend and
// the credential's use, RecordUse or models.SessionStart) failed with err:
// models.ErrCeremonySpent when another request finished the ceremony
// first (or it expired meanwhile), models.ErrConsumed when another
// assertion with its counter value won the race or the credential was
// flagged meanwhile. Any other error is returned wrapped; nil is nil.
func UseRefused(res *Result, err error) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, models.ErrCeremonySpent):
		e = failWith(ErrCeremonyUsed, "finished by another request", err)
	case errors.Is(err, models.ErrConsumed):
		e = failWith(ErrCounterRegression, "concurrent use of one counter value", err)
	default:
		return fmt.Errorf("passkey: %w", err)
	}
	e.with(res.Credential.ID, res.Credential.UserID, res.Credential.AAGUID)
	e.InteractionID = res.InteractionID
	return e
}

// spendRefused spends the ceremony of a refused assertion; one spent or
// gone already needs nothing.
func (s *Service) spendRefused(ctx context.Context, c *models.WebAuthnCeremony) {
	err := s.st.SpendCeremony(ctx, c)
	if err != nil && !models.IsGone(err) {
		s.log.WarnContext(ctx, "passkey: spend a refused ceremony", "ceremony_id", c.ID, "err", err)
	}
}

// VerifyLogin is FinishLogin but for the writes of a success: the
// ceremony's spend and the credential's use are returned
// (Result.Ceremony, Result.Use) for the caller to write — RecordUse, or
// with the session it starts (models.SessionStart), which they gate. A
// refusal spends the ceremony before it returns.
func (s *Service) VerifyLogin(ctx context.Context, ceremonyID, browserHash string, body []byte) (_ *Result, err error) {
	parsed, err := ParseAssertion(body)
	if err != nil {
		return nil, err
	}
	credID := base64.RawURLEncoding.EncodeToString(parsed.RawID)
	if ceremonyID == "" {
		return nil, fail(ErrCeremonyNotFound, "no ceremony id")
	}
	// The ceremony the browser held (ceremony.go), then whether it was
	// spent, the credential, its owner and, for the accepted-credentials
	// signal, the ids of all its account's credentials: one read.
	c, err := s.openCeremony(ceremonyID)
	if err != nil {
		return nil, err
	}
	read, err := s.st.CeremonyWithCredentials(ctx, c, credID)
	if err == nil {
		// Read, not spent: a refusal spends it now (a ceremony is single
		// use, and one presented by another browser has leaked), a
		// success with the writes of the sign-in (RecordUse, or
		// models.SessionStart.Ceremony).
		defer func() {
			if err != nil {
				s.spendRefused(ctx, c)
			}
		}()
	}
	cer, data, err := s.checkCeremony(c, err, browserHash, models.CeremonyLogin)
	if err != nil {
		return nil, err
	}
	user, siblings := read.Owner, read.Credentials
	defer withInteraction(&err, cer.InteractionID)
	var rec *models.WebAuthnCredential
	accountIDs := make([]string, len(siblings))
	for i := range siblings {
		accountIDs[i] = siblings[i].ID
		if siblings[i].ID == credID {
			rec = &siblings[i]
		}
	}
	if rec == nil {
		return nil, failWith(ErrUnknownCredential, "", models.ErrNotFound).with(credID, cer.UserID, "")
	}
	failed := func(e *Error) (*Result, error) { return nil, e.with(credID, rec.UserID, rec.AAGUID) }

	switch data.Mode {
	case loginUser:
		if rec.UserID != cer.UserID || !containsID(data.Session.AllowedCredentialIDs, parsed.RawID) {
			// Recorded against the account being signed in to.
			return nil, fail(ErrForeignCredential, "not one of this account's credentials").with(credID, cer.UserID, rec.AAGUID)
		}
	case loginDiscoverable:
		uh := parsed.Response.UserHandle
		if len(uh) == 0 {
			return failed(fail(ErrInvalidResponse, "no userHandle in a discoverable assertion"))
		}
		if subtle.ConstantTimeCompare(uh, []byte(rec.UserID)) != 1 {
			return failed(fail(ErrForeignCredential, "userHandle does not name the credential's owner"))
		}
	default: // loginUnknown: the allowed ids were fakes
		return nil, fail(ErrForeignCredential, "no account was named").with(credID, "", rec.AAGUID)
	}
	if rec.Kind != data.Kind {
		return failed(fail(ErrWrongCredentialKind, rec.Kind+" used for a "+data.Kind+" sign-in"))
	}
	if rec.CloneWarning {
		return failed(fail(ErrCounterRegression, "credential was flagged as possibly cloned"))
	}
	if rec.SuspendedAt != nil {
		return failed(fail(ErrCredentialSuspended, "suspended "+rec.SuspendedAt.Format(time.DateOnly)))
	}
	if e := s.checkClientData(&parsed.Response.CollectedClientData, protocol.AssertCeremony, data.Session.Challenge); e != nil {
		return failed(e)
	}
	ad := &parsed.Response.AuthenticatorData
	uvRequired := data.Session.UserVerification == protocol.VerificationRequired
	if e := s.checkAuthData(ad, uvRequired); e != nil {
		return failed(e)
	}
	wc, err := toWebAuthn(rec)
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	// Ownership was settled above; go-webauthn checks the rest (user
	// handle, BE consistency, signature) against this one credential.
	session := data.Session
	session.UserID = []byte(rec.UserID)
	session.AllowedCredentialIDs = [][]byte{parsed.RawID}
	wu := newWAUser(user.ID, user.Email, user.DisplayName)
	wu.creds = []webauthn.Credential{wc}
	if _, err := s.wa.ValidateLogin(wu, session, parsed); err != nil {
		return failed(failWith(ErrVerification, "assertion", err))
	}
	if e := s.checkMetadataStatus(ctx, rec); e != nil {
		return failed(e)
	}
	grace, e := s.checkSynced(ctx, data, parsed.Response.AuthenticatorData.Flags.HasBackupEligible())
	if e != nil {
		return failed(e)
	}
	graceModel, e := s.checkModel(ctx, data, rec.AAGUID, rec.AttestationFormat)
	if e != nil {
		return failed(e)
	}

	// §7.2 step 22: with a counter in use (either value non-zero), the new
	// value must exceed the stored one, or there may be two copies of the
	// key. Checked after the signature, so nobody can flag another's
	// credential with a forged assertion.
	count := int64(ad.Counter)
	if (count != 0 || rec.SignCount != 0) && count <= rec.SignCount {
		if err := s.st.FlagCredentialClone(ctx, rec.ID); err != nil {
			s.log.ErrorContext(ctx, "passkey: flag cloned credential", "credential_id", rec.ID, "err", err)
		} else {
			s.log.WarnContext(ctx, "passkey: sign counter went backwards; credential flagged", "credential_id", rec.ID, "user_id", rec.UserID, "stored", rec.SignCount, "received", count)
		}
		return failed(fail(ErrCounterRegression, fmt.Sprintf("counter %d after %d", count, rec.SignCount)))
	}
	if user.Disabled {
		return failed(fail(ErrUserDisabled, ""))
	}

	flags := ad.Flags
	now := s.now()
	use := &models.CredentialUse{CredentialID: rec.ID, PrevCount: rec.SignCount, SignCount: count,
		UserVerified: flags.HasUserVerified(), BackupEligible: flags.HasBackupEligible(), BackupState: flags.HasBackupState(), At: now}
	rec.SignCount = count
	rec.UserVerified, rec.BackupEligible, rec.BackupState = use.UserVerified, use.BackupEligible, use.BackupState
	rec.LastUsedAt = &now
	rec.UpdatedAt = now
	facts := s.CredentialFacts(ctx, rec)
	return &Result{
		User:                 user,
		Credential:           rec,
		Facts:                facts,
		AMR:                  AMRFor(facts),
		ACR:                  ACRFor(facts),
		InteractionID:        cer.InteractionID,
		Interaction:          read.Interaction,
		Ceremony:             cer,
		GraceSynced:          grace,
		GraceModel:           graceModel,
		AccountCredentialIDs: accountIDs,
		Use:                  use,
	}, nil
}

func containsID(ids [][]byte, id []byte) bool {
	for _, v := range ids {
		if subtle.ConstantTimeCompare(v, id) == 1 {
			return true
		}
	}
	return false
}
