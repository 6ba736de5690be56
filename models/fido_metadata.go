package models

import "time"

// FIDOMetadataMDS3 is the id of the row that keeps the FIDO Metadata
// Service (MDS3) BLOB fetched from the configured URL.
const FIDOMetadataMDS3 = "mds3"

// FIDOMetadata is the last good FIDO metadata BLOB of one source, kept in
// the database so every replica uses the same copy (migration 00028). The
// row also coordinates the fetching: a replica fetches only after
// claiming a round (Attempts is the compare-and-swap counter), so one
// replica at a time asks the metadata service.
type FIDOMetadata struct {
	ID string `gorm:"primaryKey"`
	// Source is the URL the stored BLOB came from.
	Source string
	// Blob is the BLOB (a JWS) as fetched and verified; "" until the first
	// good fetch.
	Blob string
	// Serial is the BLOB's serial number ("no"): a fetched BLOB replaces
	// the stored one only when its serial is at least as high (no
	// rollback to an older, still validly signed BLOB).
	Serial int64
	// NextUpdate is the BLOB's nextUpdate: the date by which the service
	// promises a new one. Past it (plus a grace period) the copy is stale.
	NextUpdate *time.Time
	// FetchedAt is when the stored BLOB (this serial) was first fetched;
	// CheckedAt the last time a fetch confirmed it is current (a good
	// BLOB with the same or a new serial).
	FetchedAt *time.Time
	CheckedAt *time.Time
	// AttemptAt is when the last fetch round was claimed; Attempts counts
	// the claims (the compare-and-swap of ClaimFIDOMetadataFetch).
	AttemptAt *time.Time
	Attempts  int64
	// LastError is why the last fetch round failed ("" when it did not);
	// LastErrorAt when.
	LastError   string
	LastErrorAt *time.Time
	UpdatedAt   time.Time
}

// TableName pins the table name.
func (FIDOMetadata) TableName() string { return "fido_metadata" }
