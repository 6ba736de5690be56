package passkey

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
)

// NewUser describes an account being created by sign-up (stored only when
// its first passkey is).
type NewUser struct {
	Email, DisplayName string
}

// BeginRegistration starts the registration of a credential of kind
// models.CredentialPasskey (discoverable: residentKey required; user
// verification per policy; platform or roaming) or
// models.CredentialSecurityKey (a second factor: cross-platform,
// residentKey discouraged, user verification discouraged), for an existing
// user (user != nil) or for sign-up (user == nil, nu != nil: the new user's
// id is generated now and the pending account kept in the ceremony).
// excludeCredentials lists the user's credentials so an authenticator
// does not register twice.
//
// It returns the JSON for PublicKeyCredential.parseCreationOptionsFromJSON
// (the publicKey member) and the ceremony id.
func (s *Service) BeginRegistration(ctx context.Context, user *models.User, nu *NewUser, kind, browserHash, interactionID string) (json.RawMessage, string, error) {
	return s.BeginRegistrationWith(ctx, user, nu, kind, Options{}, browserHash, interactionID)
}

// BeginRegistrationWith is BeginRegistration with per-ceremony options
// (the requesting client's user verification; security keys ignore it).
func (s *Service) BeginRegistrationWith(ctx context.Context, user *models.User, nu *NewUser, kind string, o Options, browserHash, interactionID string) (json.RawMessage, string, error) {
	uv, err := s.uvFor(ctx, o)
	if err != nil {
		return nil, "", err
	}
	if !validKind(kind) {
		return nil, "", fail(ErrBadInput, fmt.Sprintf("unknown credential kind %q", kind))
	}
	if browserHash == "" {
		return nil, "", fail(ErrBadInput, "no browser binding")
	}
	var (
		wu      *waUser
		pending *pendingUser
		exclude []protocol.CredentialDescriptor
		userID  string
	)
	switch {
	case user != nil:
		if user.Disabled {
			return nil, "", fail(ErrUserDisabled, "").with("", user.ID, "")
		}
		creds, err := s.st.ListUserCredentials(ctx, user.ID)
		if err != nil {
			return nil, "", fmt.Errorf("passkey: %w", err)
		}
		for i := range creds {
			wc, err := toWebAuthn(&creds[i])
			if err != nil {
				return nil, "", fmt.Errorf("passkey: %w", err)
			}
			exclude = append(exclude, wc.Descriptor())
		}
		userID = user.ID
		wu = newWAUser(user.ID, user.Email, user.DisplayName)
	case nu != nil:
		email := strings.TrimSpace(nu.Email)
		if email == "" || len(email) > 254 || !strings.Contains(email, "@") {
			return nil, "", fail(ErrBadInput, "an email address is needed")
		}
		pending = &pendingUser{ID: uuid.NewString(), Email: email, DisplayName: trimmed(nu.DisplayName, 400)}
		wu = newWAUser(pending.ID, pending.Email, pending.DisplayName)
	default:
		return nil, "", fail(ErrBadInput, "neither a user nor a new user")
	}

	sel := protocol.AuthenticatorSelection{
		ResidentKey:        protocol.ResidentKeyRequirementRequired,
		RequireResidentKey: protocol.ResidentKeyRequired(),
		UserVerification:   uv,
	}
	var hints []protocol.PublicKeyCredentialHints
	if kind == models.CredentialSecurityKey {
		sel = protocol.AuthenticatorSelection{
			AuthenticatorAttachment: protocol.CrossPlatform,
			ResidentKey:             protocol.ResidentKeyRequirementDiscouraged,
			RequireResidentKey:      protocol.ResidentKeyNotRequired(),
			UserVerification:        protocol.VerificationDiscouraged,
		}
		hints = []protocol.PublicKeyCredentialHints{protocol.PublicKeyCredentialHintSecurityKey}
	}
	// No hints for the device-bound levels: go-webauthn turns the first
	// hint into an authenticatorAttachment, and both attachments have
	// device-bound authenticators (security keys; TPM-backed platform
	// keys). The page says what qualifies; the finish checks it.
	conveyance := protocol.PreferNoAttestation
	// A client's allow list needs the model proven, as the global one.
	if s.rules(ctx).direct || len(o.AAGUIDAllow) > 0 {
		conveyance = protocol.PreferDirectAttestation
	}
	opts := []webauthn.RegistrationOption{
		webauthn.WithAuthenticatorSelection(sel),
		webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(conveyance),
	}
	if len(hints) > 0 {
		opts = append(opts, webauthn.WithPublicKeyCredentialHints(hints))
	}
	creation, session, err := s.wa.BeginRegistration(wu, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: begin registration: %w", err)
	}
	options, err := json.Marshal(creation.Response)
	if err != nil {
		return nil, "", fmt.Errorf("passkey: encode creation options: %w", err)
	}
	data := (&ceremonyData{Session: *session, Kind: kind, NewUser: pending}).clientRules(o)
	id, err := s.saveCeremony(ctx, models.CeremonyRegister, userID, browserHash, interactionID, data)
	if err != nil {
		return nil, "", err
	}
	return options, id, nil
}

// FinishRegistration verifies the browser's credential.toJSON() body
// against the ceremony and stores the credential: for sign-up together
// with the new user, in one transaction. It returns the user, the stored
// credential and the ceremony's interaction id.
//
// Verified (WebAuthn §7.1): the ceremony (single use, this browser, not
// expired), type, challenge, origin, RP ID hash, UP, UV when required,
// the attestation statement and the attestation policy; the credential id
// must not be registered to anyone (§7.1 step 22).
func (s *Service) FinishRegistration(ctx context.Context, ceremonyID, browserHash string, body []byte) (_ *models.User, _ *models.WebAuthnCredential, _ string, err error) {
	if len(body) > MaxResponseBytes {
		return nil, nil, "", fail(ErrTooLarge, fmt.Sprintf("%d bytes", len(body)))
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, nil, "", failWith(ErrInvalidResponse, "parse attestation response", err)
	}
	credID := base64.RawURLEncoding.EncodeToString(parsed.RawID)
	cer, data, err := s.takeCeremony(ctx, ceremonyID, browserHash, models.CeremonyRegister)
	if err != nil {
		return nil, nil, "", err
	}
	defer withInteraction(&err, cer.InteractionID)
	att := &parsed.Response.AttestationObject
	aaguid := aaguidString(att.AuthData.AttData.AAGUID)

	var user *models.User
	if data.NewUser != nil {
		user = &models.User{ID: data.NewUser.ID, Email: data.NewUser.Email, DisplayName: data.NewUser.DisplayName}
	} else {
		user, err = s.st.GetUser(ctx, cer.UserID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, nil, "", failWith(ErrBadInput, "the account no longer exists", err)
		}
		if err != nil {
			return nil, nil, "", fmt.Errorf("passkey: %w", err)
		}
		if user.Disabled {
			return nil, nil, "", fail(ErrUserDisabled, "").with(credID, user.ID, aaguid)
		}
	}
	eventUser := user.ID // the account a failure is recorded against
	if data.NewUser != nil {
		eventUser = "" // not created
	}
	failed := func(e *Error) (*models.User, *models.WebAuthnCredential, string, error) {
		return nil, nil, "", e.with(credID, eventUser, aaguid)
	}

	if err := s.checkClientData(&parsed.Response.CollectedClientData, protocol.CreateCeremony, data.Session.Challenge); err != nil {
		return failed(err)
	}
	uvRequired := data.Session.UserVerification == protocol.VerificationRequired
	if err := s.checkAuthData(&att.AuthData, uvRequired); err != nil {
		return failed(err)
	}
	wu := newWAUser(user.ID, user.Email, user.DisplayName)
	cred, err := s.wa.CreateCredential(wu, data.Session, parsed)
	if err != nil {
		return failed(failWith(ErrVerification, "attestation", err))
	}
	attested, perr := s.checkAttestationPolicy(ctx, att, aaguid)
	if perr != nil {
		return failed(perr)
	}
	if _, perr := s.checkSynced(ctx, data, att.AuthData.Flags.HasBackupEligible()); perr != nil {
		return failed(perr)
	}
	if _, perr := s.checkModel(ctx, data, aaguid, att.Format); perr != nil {
		return failed(perr)
	}
	switch _, err := s.st.GetCredential(ctx, credID); {
	case err == nil:
		return failed(fail(ErrCredentialExists, ""))
	case !errors.Is(err, models.ErrNotFound):
		return nil, nil, "", fmt.Errorf("passkey: %w", err)
	}

	now := s.now()
	name := AuthenticatorName(aaguid)
	if name == "" {
		name = kindName(data.Kind)
	}
	transports := make(models.StringList, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		if t != "" {
			transports = append(transports, truncate(string(t), 32))
		}
		if len(transports) == 8 {
			break
		}
	}
	rec := &models.WebAuthnCredential{
		ID:                credID,
		UserID:            user.ID,
		Kind:              data.Kind,
		Name:              name,
		PublicKey:         base64.RawURLEncoding.EncodeToString(cred.PublicKey),
		AttestationType:   cred.AttestationType,
		AttestationFormat: cred.AttestationFormat,
		AAGUID:            aaguid,
		SignCount:         int64(cred.Authenticator.SignCount),
		Transports:        transports,
		UserVerified:      cred.Flags.UserVerified,
		BackupEligible:    cred.Flags.BackupEligible,
		BackupState:       cred.Flags.BackupState,
		Attested:          attested,
		CreatedAt:         now,
		UpdatedAt:         now,
	}
	if data.NewUser != nil {
		user.EmailVerified = false // until a passlink proves the address
		user.CreatedAt, user.UpdatedAt = now, now
		err = s.st.WithTx(ctx, func(ctx context.Context) error {
			if err := s.st.CreateUser(ctx, user); err != nil {
				if errors.Is(err, models.ErrAlreadyExists) {
					// The id is fresh, so the conflict is the address.
					return failWith(ErrEmailTaken, "", err).with(credID, "", aaguid)
				}
				return err
			}
			return s.createCredential(ctx, rec)
		})
	} else {
		err = s.createCredential(ctx, rec)
	}
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return nil, nil, "", pe.with(credID, eventUser, aaguid)
		}
		return nil, nil, "", fmt.Errorf("passkey: %w", err)
	}
	return user, rec, cer.InteractionID, nil
}

// createCredential stores a credential; losing the race for its id to
// another registration is ErrCredentialExists.
func (s *Service) createCredential(ctx context.Context, rec *models.WebAuthnCredential) error {
	err := s.st.CreateCredential(ctx, rec)
	if errors.Is(err, models.ErrAlreadyExists) {
		return failWith(ErrCredentialExists, "", err).with(rec.ID, "", rec.AAGUID)
	}
	return err
}
