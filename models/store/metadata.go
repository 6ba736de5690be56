package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sesame-idp/sesame/models"
)

// ChangeFIDOMetadata announces a new FIDO metadata BLOB (ID: the row's
// id): every replica reloads the metadata its ceremonies check against.
const ChangeFIDOMetadata = "fido_metadata"

// FIDOMetadataState reads a metadata row without its BLOB (a few MB for
// the real MDS3): what a replica polls to learn whether there is a new
// copy to load, or a fetch round due.
func (s *Store) FIDOMetadataState(ctx context.Context, id string) (*models.FIDOMetadata, error) {
	var m models.FIDOMetadata
	err := s.conn(ctx).Omit("blob").Where("id = ?", id).Take(&m).Error
	if err != nil {
		return nil, mapErr("read fido metadata state", err)
	}
	return &m, nil
}

// GetFIDOMetadata reads a metadata row with its BLOB.
func (s *Store) GetFIDOMetadata(ctx context.Context, id string) (*models.FIDOMetadata, error) {
	var m models.FIDOMetadata
	if err := s.conn(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, mapErr("read fido metadata", err)
	}
	return &m, nil
}

// ClaimFIDOMetadataFetch claims the next fetch round of metadata id for
// this replica: it succeeds (true) only when the row's Attempts still is
// seen, the value the caller read when it decided a round was due, and
// moves it on, so of the replicas that decided at once exactly one
// fetches. The row is created when missing (seen is then 0).
func (s *Store) ClaimFIDOMetadataFetch(ctx context.Context, id string, seen int64, at time.Time) (bool, error) {
	row := &models.FIDOMetadata{ID: id, UpdatedAt: dbTime(at)}
	if err := s.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(row).Error; err != nil {
		return false, mapErr("create fido metadata row", err)
	}
	res := s.conn(ctx).Model(&models.FIDOMetadata{}).Where("id = ? AND attempts = ?", id, seen).
		Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "attempt_at": dbTime(at), "updated_at": Now()})
	if res.Error != nil {
		return false, mapErr("claim fido metadata fetch", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// SaveFIDOMetadata stores a verified BLOB (m.Blob, Serial, NextUpdate,
// Source) fetched at m.CheckedAt. A higher serial than the stored one
// replaces it (replaced: true) and is announced (ChangeFIDOMetadata); the
// same serial only confirms the stored copy is current (CheckedAt); a
// lower one is refused with ErrConsumed, since a validly signed but older
// BLOB would roll statuses back (e.g. hide a revocation).
func (s *Store) SaveFIDOMetadata(ctx context.Context, m *models.FIDOMetadata) (replaced bool, err error) {
	if m.CheckedAt == nil || m.Blob == "" {
		return false, errors.New("save fido metadata: no BLOB or fetch time")
	}
	at := dbTime(*m.CheckedAt)
	err = s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.FIDOMetadata{}).Where("id = ? AND (serial < ? OR blob = '')", m.ID, m.Serial).
			Updates(map[string]any{"blob": m.Blob, "serial": m.Serial, "next_update": dbTimePtr(m.NextUpdate), "source": m.Source,
				"fetched_at": at, "checked_at": at, "last_error": "", "last_error_at": nil, "updated_at": Now()})
		if res.Error != nil {
			return mapErr("save fido metadata", res.Error)
		}
		if res.RowsAffected == 1 {
			replaced = true
			return s.notify(ctx, ChangeFIDOMetadata, m.ID)
		}
		res = s.conn(ctx).Model(&models.FIDOMetadata{}).Where("id = ? AND serial = ?", m.ID, m.Serial).
			Updates(map[string]any{"checked_at": at, "next_update": dbTimePtr(m.NextUpdate), "last_error": "", "last_error_at": nil, "updated_at": Now()})
		if res.Error != nil {
			return mapErr("confirm fido metadata", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("save fido metadata: serial %d is older than the stored BLOB's, or no row %q: %w", m.Serial, m.ID, models.ErrConsumed)
		}
		return nil
	})
	return replaced, err
}

// RecordFIDOMetadataError notes why a fetch round failed; the stored BLOB
// stays in force.
func (s *Store) RecordFIDOMetadataError(ctx context.Context, id, msg string, at time.Time) error {
	if len(msg) > 500 {
		msg = msg[:500]
	}
	res := s.conn(ctx).Model(&models.FIDOMetadata{}).Where("id = ?", id).
		Updates(map[string]any{"last_error": msg, "last_error_at": dbTime(at), "updated_at": Now()})
	return affected("record fido metadata error", res)
}

// CredentialAAGUIDs lists the distinct authenticator models of the
// enrolled credentials (the zero AAGUID included when present).
func (s *Store) CredentialAAGUIDs(ctx context.Context) ([]string, error) {
	var out []string
	err := s.conn(ctx).Model(&models.WebAuthnCredential{}).Distinct("aaguid").Order("aaguid").Pluck("aaguid", &out).Error
	return out, mapErr("list credential models", err)
}

// MarkCompromisedModels records the FIDO metadata in force: statuses maps
// each model (AAGUID) the metadata reports compromised or revoked to that
// status. Credentials of those models get CompromisedStatus (and
// CompromisedAt when first flagged); credentials flagged before whose
// model is no longer listed are cleared. It returns the credentials it
// newly flagged (or whose status changed) and those it cleared, each
// change made by a conditional update so that replicas checking at once
// report every change exactly once. SuspendedAt is left alone: a
// suspension outlives its cause.
func (s *Store) MarkCompromisedModels(ctx context.Context, statuses map[string]string, at time.Time) (flagged, cleared []models.WebAuthnCredential, err error) {
	at = dbTime(at)
	err = s.WithTx(ctx, func(ctx context.Context) error {
		flagged, cleared = nil, nil
		aaguids := make([]string, 0, len(statuses))
		for a := range statuses {
			aaguids = append(aaguids, a)
		}
		slices.Sort(aaguids)
		for _, a := range aaguids {
			var cands []models.WebAuthnCredential
			if err := s.conn(ctx).Where("aaguid = ? AND compromised_status <> ?", a, statuses[a]).Order("id").Find(&cands).Error; err != nil {
				return mapErr("find credentials of a compromised model", err)
			}
			for _, c := range cands {
				res := s.conn(ctx).Model(&models.WebAuthnCredential{}).Where("id = ? AND compromised_status <> ?", c.ID, statuses[a]).
					Updates(map[string]any{"compromised_status": statuses[a], "compromised_at": gorm.Expr("COALESCE(compromised_at, ?)", at), "updated_at": Now()})
				if res.Error != nil {
					return mapErr("flag credential of a compromised model", res.Error)
				}
				if res.RowsAffected == 1 {
					c.CompromisedStatus = statuses[a]
					if c.CompromisedAt == nil {
						c.CompromisedAt = &at
					}
					flagged = append(flagged, c)
				}
			}
		}
		q := s.conn(ctx).Where("compromised_status <> ''")
		if len(aaguids) > 0 {
			q = q.Where("aaguid NOT IN ?", aaguids)
		}
		var lifted []models.WebAuthnCredential
		if err := q.Order("id").Find(&lifted).Error; err != nil {
			return mapErr("find credentials whose model is no longer compromised", err)
		}
		for _, c := range lifted {
			res := s.conn(ctx).Model(&models.WebAuthnCredential{}).Where("id = ? AND compromised_status = ?", c.ID, c.CompromisedStatus).
				Updates(map[string]any{"compromised_status": "", "compromised_at": nil, "updated_at": Now()})
			if res.Error != nil {
				return mapErr("clear credential's compromised status", res.Error)
			}
			if res.RowsAffected == 1 {
				cleared = append(cleared, c)
			}
		}
		return nil
	})
	return flagged, cleared, err
}

// SuspendCredential suspends a credential (policy
// suspend_compromised_passkeys): from then on it signs nobody in. Only the
// first suspension counts: one already suspended is ErrConsumed, so the
// caller audits each suspension once.
func (s *Store) SuspendCredential(ctx context.Context, id string, at time.Time) error {
	res := s.conn(ctx).Model(&models.WebAuthnCredential{}).Where("id = ? AND suspended_at IS NULL", id).
		Updates(map[string]any{"suspended_at": dbTime(at), "updated_at": Now()})
	if res.Error != nil {
		return mapErr("suspend credential", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("suspend credential %s: %w", id, models.ErrConsumed)
	}
	return nil
}

// CompromisedCredentials counts the credentials whose model the FIDO
// metadata reports compromised or revoked (CompromisedStatus set),
// suspended or not, and returns up to limit of them, first flagged first.
// The console's notice and credential health read it.
func (s *Store) CompromisedCredentials(ctx context.Context, limit int) (int64, []models.WebAuthnCredential, error) {
	q := func() *gorm.DB {
		return s.conn(ctx).Model(&models.WebAuthnCredential{}).Where("compromised_status <> ''")
	}
	var n int64
	if err := q().Count(&n).Error; err != nil {
		return 0, nil, mapErr("count compromised credentials", err)
	}
	var out []models.WebAuthnCredential
	if n > 0 && limit > 0 {
		if err := q().Order("compromised_at, id").Limit(limit).Find(&out).Error; err != nil {
			return 0, nil, mapErr("list compromised credentials", err)
		}
	}
	return n, out, nil
}

// CompromisedCredentialCounts counts the credentials whose model is
// reported compromised or revoked, and how many of them are suspended.
func (s *Store) CompromisedCredentialCounts(ctx context.Context) (flagged, suspended int64, err error) {
	var row struct{ Flagged, Suspended int64 }
	err = s.conn(ctx).Model(&models.WebAuthnCredential{}).Select("COUNT(*) AS flagged, COUNT(suspended_at) AS suspended").
		Where("compromised_status <> ''").Scan(&row).Error
	return row.Flagged, row.Suspended, mapErr("count compromised credentials", err)
}
