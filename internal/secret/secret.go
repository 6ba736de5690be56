package secret

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strings"

	"github.com/sesame-idp/sesame/internal/config"
)

// MinLen is the shortest system secret accepted, in bytes. Even base64 text
// of that length carries 192 bits, well above what HKDF needs.
const MinLen = 32

// generatedLen is the number of random bytes in a dev-mode secret; its
// base64url form is 64 characters.
const generatedLen = 48

// Resolve returns the system secret. In order of preference it comes from
// cfg.SystemSecret, from the file cfg.SystemSecretFile (surrounding
// whitespace trimmed; the file must not be accessible by group or others),
// or, in dev mode only, from cfg.SecretFilePath(), generating that file on
// first use. Outside dev mode a missing secret is an error: a generated one
// would vanish with the container and leave stored keys undecryptable.
func Resolve(cfg config.Config, log *slog.Logger) ([]byte, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.SystemSecret != "":
		return checkLen([]byte(cfg.SystemSecret), "system-secret")
	case cfg.SystemSecretFile != "":
		b, err := readPrivate(cfg.SystemSecretFile, "system-secret-file")
		if err != nil {
			return nil, err
		}
		return checkLen(b, "system-secret-file "+cfg.SystemSecretFile)
	case cfg.Dev:
		return devSecret(cfg.DataDir, cfg.SecretFilePath(), log)
	default:
		return nil, errors.New("system-secret: required outside --dev (set SESAME_SYSTEM_SECRET or --system-secret-file; generate one with: openssl rand -base64 48)")
	}
}

// Derive returns a 32-byte key for one purpose ("signing-keys", "token-hmac",
// "cookies", ...) from the master secret, with HKDF-SHA-256 (RFC 5869) and
// info "sesame " + purpose. Different purposes give independent keys; the
// same purpose always gives the same key, on every replica.
func Derive(master []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, "sesame "+purpose, 32)
	if err != nil {
		// Only possible for an output longer than 255*32 bytes.
		panic("secret: derive: " + err.Error())
	}
	return k
}

func checkLen(b []byte, what string) ([]byte, error) {
	if len(b) < MinLen {
		return nil, fmt.Errorf("%s: must be at least %d bytes (generate one with: openssl rand -base64 48)", what, MinLen)
	}
	return b, nil
}

// readPrivate reads a secret file after checking, on the open descriptor,
// that nobody but the owner can read it.
func readPrivate(path, setting string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s: %s is a directory", setting, path)
	}
	// Windows has no Unix permission bits to check.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: %s is accessible by group or others (mode %04o); restrict it with: chmod 600 %s", setting, path, fi.Mode().Perm(), path)
	}
	b, err := readAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", setting, path, err)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

// readAll reads at most 64 KiB: a secret file is a line, not a dump.
func readAll(f *os.File) ([]byte, error) {
	const limit = 64 << 10
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, errors.New("file too large for a secret")
	}
	return b, nil
}

// devSecret reads the dev secret file, creating it on first use.
func devSecret(dataDir, path string, log *slog.Logger) ([]byte, error) {
	b, err := readPrivate(path, "dev system secret")
	if err == nil {
		return checkLen(b, "dev system secret "+path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("dev system secret: create %s: %w", dataDir, err)
	}
	raw := make([]byte, generatedLen)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("dev system secret: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	// O_EXCL: if another process created the file meanwhile, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		b, err := readPrivate(path, "dev system secret")
		if err != nil {
			return nil, err
		}
		return checkLen(b, "dev system secret "+path)
	}
	if err != nil {
		return nil, fmt.Errorf("dev system secret: create %s: %w", path, err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("dev system secret: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("dev system secret: write %s: %w", path, err)
	}
	log.Warn("generated a system secret for dev mode; keep this file, stored keys depend on it", "path", path)
	return []byte(s), nil
}
