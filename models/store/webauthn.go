package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sesame-idp/sesame/models"
)

// CreateCredential inserts a credential; an id already registered (to
// anyone) is ErrAlreadyExists.
func (s *Store) CreateCredential(ctx context.Context, c *models.WebAuthnCredential) error {
	return mapErr("create credential", s.conn(ctx).Create(c).Error)
}

// GetCredential loads a credential by id.
func (s *Store) GetCredential(ctx context.Context, id string) (*models.WebAuthnCredential, error) {
	var c models.WebAuthnCredential
	if err := s.conn(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return nil, mapErr("get credential", err)
	}
	return &c, nil
}

// ListUserCredentials returns a user's credentials, oldest first.
func (s *Store) ListUserCredentials(ctx context.Context, userID string) ([]models.WebAuthnCredential, error) {
	var out []models.WebAuthnCredential
	err := s.conn(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&out).Error
	return out, mapErr("list credentials", err)
}

// ListCredentialsWith returns the account that holds credential id and its
// credentials, oldest first; nil and none when id is unknown. A passkey
// sign-in needs the credential it checks, its owner and the account's list
// (the accepted credentials signal): one statement reads all three, the
// owner's columns joined to each credential under the prefix owner_.
func (s *Store) ListCredentialsWith(ctx context.Context, id string) (*models.User, []models.WebAuthnCredential, error) {
	q, err := s.withOwner(ctx, &models.WebAuthnCredential{}, "webauthn_credentials")
	if err != nil {
		return nil, nil, mapErr("list credentials", err)
	}
	rows := make([]credentialOwner, 0, 4) // room for an account's usual few (gorm would make 20)
	err = q.Where("webauthn_credentials.user_id = (SELECT user_id FROM webauthn_credentials WHERE id = ?)", id).
		Order("webauthn_credentials.created_at, webauthn_credentials.id").Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, nil, mapErr("list credentials", err)
	}
	out := make([]models.WebAuthnCredential, len(rows))
	for i := range rows {
		out[i] = rows[i].WebAuthnCredential
	}
	owner := rows[0].Owner
	return &owner, out, nil
}

// credentialOwner is a row of ListCredentialsWith.
type credentialOwner struct {
	models.WebAuthnCredential `gorm:"embedded"`
	Owner                     models.User `gorm:"embedded;embeddedPrefix:owner_"`
}

// withOwner starts a query of table's rows (model's) with each row's user
// (by its user_id) joined under the prefix owner_, for a result struct that
// embeds models.User with embeddedPrefix:owner_.
func (s *Store) withOwner(ctx context.Context, model any, table string) (*gorm.DB, error) {
	cols, err := s.columnsAs(&models.User{}, "owner")
	if err != nil {
		return nil, err
	}
	return s.conn(ctx).Model(model).Select(table + ".*, " + cols).
		Joins("JOIN users owner ON owner.id = " + table + ".user_id"), nil
}

// columnsAs is the select list of every column of model's table read
// through alias, each named alias_<column> (gorm's embeddedPrefix), from
// gorm's schema of the model, so a column added to it comes along; built
// once per alias (an alias names one model).
func (s *Store) columnsAs(model any, alias string) (string, error) {
	if v, ok := s.aliased.Load(alias); ok {
		return v.(string), nil
	}
	stmt := &gorm.Statement{DB: s.db}
	if err := stmt.Parse(model); err != nil {
		return "", err
	}
	cols := make([]string, len(stmt.Schema.DBNames))
	for i, c := range stmt.Schema.DBNames {
		cols[i] = alias + "." + c + " AS " + alias + "_" + c
	}
	list := strings.Join(cols, ", ")
	s.aliased.Store(alias, list)
	return list, nil
}

// aliased is a model's table read through an alias (columnsAs).
type aliased struct {
	model any
	alias string
}

// columnsOf is columnsAs for each of list, as one select list.
func (s *Store) columnsOf(list ...aliased) (string, error) {
	cols := make([]string, len(list))
	for i, m := range list {
		c, err := s.columnsAs(m.model, m.alias)
		if err != nil {
			return "", err
		}
		cols[i] = c
	}
	return strings.Join(cols, ", "), nil
}

// CeremonyWithCredentials reads, for the login ceremony c a browser
// presented (sealed; the store keeps only spent ones), what
// ListCredentialsWith reads for credentialID (the credential's owner and
// all the owner's credentials, oldest first) and c's interaction, in one
// statement; it spends nothing: the spend is written with the sign-in's
// writes (models.SessionStart.Ceremony) or a refusal's SpendCeremony. A
// ceremony already spent is ErrConsumed, one past its expiry ErrExpired,
// as SpendCeremony says.
func (s *Store) CeremonyWithCredentials(ctx context.Context, c *models.WebAuthnCeremony, credentialID string) (*models.CeremonyRead, error) {
	const op = "read ceremony"
	cols, err := s.columnsOf(aliased{&models.User{}, "owner"}, aliased{&models.Interaction{}, "inter"})
	if err != nil {
		return nil, mapErr(op, err)
	}
	q := `SELECT (SELECT count(*) FROM webauthn_ceremonies WHERE id = ?) AS spent, webauthn_credentials.*, ` + cols + `
FROM (SELECT 1 AS one) AS one LEFT JOIN (webauthn_credentials JOIN users owner ON owner.id = webauthn_credentials.user_id)
	ON webauthn_credentials.user_id = (SELECT user_id FROM webauthn_credentials WHERE id = ?)
LEFT JOIN interactions inter ON inter.id = ?
ORDER BY webauthn_credentials.created_at, webauthn_credentials.id`
	rows := make([]ceremonyCredential, 0, 4)
	if err := s.conn(ctx).Raw(q, c.ID, credentialID, c.InteractionID).Find(&rows).Error; err != nil {
		return nil, mapErr(op, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: %w", op, models.ErrNotFound)
	}
	if rows[0].Spent > 0 {
		return nil, fmt.Errorf("%s: %w", op, models.ErrConsumed)
	}
	if !c.ExpiresAt.After(Now()) {
		return nil, fmt.Errorf("%s: %w", op, models.ErrExpired)
	}
	out := &models.CeremonyRead{Ceremony: c}
	if rows[0].Inter.ID != "" {
		out.Interaction = &rows[0].Inter
	}
	if rows[0].WebAuthnCredential.ID == "" {
		return out, nil // no such credential
	}
	out.Credentials = make([]models.WebAuthnCredential, len(rows))
	for i := range rows {
		out.Credentials[i] = rows[i].WebAuthnCredential
	}
	out.Owner = &rows[0].Owner
	return out, nil
}

// ceremonyState is ConsumeCeremony's answer for a ceremony it could not
// spend: ErrConsumed, ErrExpired, or nil for one it could.
func ceremonyState(c *models.WebAuthnCeremony) error {
	if c.ConsumedAt != nil {
		return fmt.Errorf("consume ceremony: %w", models.ErrConsumed)
	}
	if !c.ExpiresAt.After(Now()) {
		return fmt.Errorf("consume ceremony: %w", models.ErrExpired)
	}
	return nil
}

// ceremonyCredential is a row of CeremonyWithCredentials: whether the
// ceremony was spent, with each credential of the account, its owner and
// the ceremony's interaction (NULLs, and so zero values, where there is
// none).
type ceremonyCredential struct {
	Spent                     int64
	models.WebAuthnCredential `gorm:"embedded"`
	Owner                     models.User        `gorm:"embedded;embeddedPrefix:owner_"`
	Inter                     models.Interaction `gorm:"embedded;embeddedPrefix:inter_"`
}

// RecordCredentialUse stores the state after a successful assertion
// (models.CredentialUse); ErrConsumed when another assertion with the
// counter value prev won, or the credential was flagged.
func (s *Store) RecordCredentialUse(ctx context.Context, id string, prev, signCount int64, uv, be, bs bool, at time.Time) error {
	return s.recordUse(ctx, &models.CredentialUse{CredentialID: id, PrevCount: prev, SignCount: signCount,
		UserVerified: uv, BackupEligible: be, BackupState: bs, At: at})
}

func (s *Store) recordUse(ctx context.Context, u *models.CredentialUse) error {
	res := s.conn(ctx).Model(&models.WebAuthnCredential{}).
		Where(credentialUseWhere, u.CredentialID, u.PrevCount, false).
		Updates(map[string]any{
			"sign_count": u.SignCount, "user_verified": u.UserVerified, "backup_eligible": u.BackupEligible,
			"backup_state": u.BackupState, "last_used_at": dbTime(u.At), "updated_at": Now(),
		})
	if res.Error != nil {
		return mapErr("record credential use", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("record credential use: %w", models.ErrConsumed)
	}
	return nil
}

// credentialUseWhere is the condition of a credential's use: the counter
// as read, no clone flag.
const credentialUseWhere = "id = ? AND sign_count = ? AND clone_warning = ?"

// ceremonySpendCTE and credentialUseCTE are SpendCeremony and
// recordUse as CTEs of StartLoginSession's statement (the gates k and g;
// g opens only if k did), with ceremonySpendArgs and credentialUseArgs.
const ceremonySpendCTE = `k AS (INSERT INTO webauthn_ceremonies (id, browser_hash, kind, user_id, interaction_id, data, created_at, expires_at, consumed_at)
	SELECT ?, ?, ?, ?, ?, '', ?, CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ) WHERE CAST(? AS TIMESTAMPTZ) > CAST(? AS TIMESTAMPTZ)
	ON CONFLICT (id) DO NOTHING RETURNING 1)`

const credentialUseCTE = `g AS (UPDATE webauthn_credentials SET sign_count = ?, user_verified = ?, backup_eligible = ?,
	backup_state = ?, last_used_at = ?, updated_at = ? WHERE ` + credentialUseWhere + `%s RETURNING 1)`

func ceremonySpendArgs(c *models.WebAuthnCeremony) []any {
	now, exp := Now(), dbTime(c.ExpiresAt)
	return []any{c.ID, c.BrowserHash, c.Kind, c.UserID, c.InteractionID, dbTime(c.CreatedAt), exp, now, exp, now}
}

// SpendCeremony spends a login ceremony the browser held (sealed, never
// stored): its id is recorded as spent, with its expiry for the janitor.
// Exactly one caller spends it; a spent one is ErrConsumed, an expired
// one ErrExpired (by the store's clock).
func (s *Store) SpendCeremony(ctx context.Context, c *models.WebAuthnCeremony) error {
	const op = "spend ceremony"
	now := Now()
	if !c.ExpiresAt.After(now) {
		return fmt.Errorf("%s: %w", op, models.ErrExpired)
	}
	row := *c
	row.Data, row.ConsumedAt = "", &now
	row.CreatedAt, row.ExpiresAt = dbTime(c.CreatedAt), dbTime(c.ExpiresAt)
	res := s.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return mapErr(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", op, models.ErrConsumed)
	}
	return nil
}

func credentialUseArgs(u *models.CredentialUse) []any {
	return []any{u.SignCount, u.UserVerified, u.BackupEligible, u.BackupState, dbTime(u.At), Now(), u.CredentialID, u.PrevCount, false}
}

// FlagCredentialClone marks a credential whose counter went backwards.
func (s *Store) FlagCredentialClone(ctx context.Context, id string) error {
	res := s.conn(ctx).Model(&models.WebAuthnCredential{}).Where("id = ?", id).
		Updates(map[string]any{"clone_warning": true, "updated_at": Now()})
	return affected("flag credential", res)
}

// RenameCredential renames one of userID's credentials.
func (s *Store) RenameCredential(ctx context.Context, userID, id, name string) error {
	res := s.conn(ctx).Model(&models.WebAuthnCredential{}).Where("id = ? AND user_id = ?", id, userID).
		Updates(map[string]any{"name": name, "updated_at": Now()})
	return affected("rename credential", res)
}

// DeleteCredential removes one of userID's credentials, and refreshes the
// user's "has a passkey" flag of the statistics in the same transaction.
func (s *Store) DeleteCredential(ctx context.Context, userID, id string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&models.WebAuthnCredential{})
		if err := affected("delete credential", res); err != nil {
			return err
		}
		return s.MarkPasskeyRemoved(ctx, userID)
	})
}

// CreateCeremony inserts a WebAuthn ceremony.
func (s *Store) CreateCeremony(ctx context.Context, c *models.WebAuthnCeremony) error {
	return mapErr("create ceremony", s.conn(ctx).Create(c).Error)
}

// ConsumeCeremony marks a live ceremony used and returns it: exactly one
// caller gets it; a used one is ErrConsumed, an expired or unknown one
// ErrExpired / ErrNotFound. One conditional UPDATE … RETURNING; only a
// refusal reads the row again, to say why.
func (s *Store) ConsumeCeremony(ctx context.Context, id string) (*models.WebAuthnCeremony, error) {
	now := Now()
	var got []models.WebAuthnCeremony
	res := s.conn(ctx).Model(&got).Clauses(clause.Returning{}).
		Where("id = ? AND consumed_at IS NULL AND expires_at > ?", id, now).Update("consumed_at", now)
	if res.Error != nil {
		return nil, mapErr("consume ceremony", res.Error)
	}
	if len(got) == 1 {
		return &got[0], nil
	}
	return nil, s.unspendable(ctx, id)
}

// unspendable says why a ceremony could not be spent: not found, spent
// already (ErrConsumed) or expired (ErrExpired).
func (s *Store) unspendable(ctx context.Context, id string) error {
	var c models.WebAuthnCeremony
	if err := s.conn(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return mapErr("consume ceremony", err)
	}
	if err := ceremonyState(&c); err != nil {
		return err
	}
	return fmt.Errorf("consume ceremony: %w", models.ErrExpired) // at the update's clock
}

// ListAuthEvents returns a user's most recent events (newest first).
func (s *Store) ListAuthEvents(ctx context.Context, userID string, limit int) ([]models.AuthEvent, error) {
	var out []models.AuthEvent
	err := s.conn(ctx).Where("user_id = ?", userID).Order("at DESC").Limit(limit).Find(&out).Error
	return out, mapErr("list auth events", err)
}

// UsersWithOnlySyncedPasskeys counts the enabled users who have passkeys
// that sign in and every one of them may sync between devices (backup
// eligible): whom a synced-passkey block would leave without a passkey
// that signs in. It returns up to limit of them, by email.
func (s *Store) UsersWithOnlySyncedPasskeys(ctx context.Context, limit int) (int64, []models.User, error) {
	return s.UsersWithoutQualifyingPasskey(ctx, PasskeyRequirement{DeviceBound: true}, limit)
}
