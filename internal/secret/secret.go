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
		b, err := readPrivate(cfg.SystemSecretFile, "system-secret-file", true)
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
// that it is private (see permissionProblem). setting names the setting
// that pointed at the file, for the error. mounted allows the
// root-owned, group-readable form of a Kubernetes Secret volume; the dev
// secret file, which Sesame writes itself, must be owner-only.
func readPrivate(path, setting string, mounted bool) ([]byte, error) {
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
	if runtime.GOOS != "windows" {
		uid, known := fileOwner(fi)
		if !mounted {
			known = false
		}
		if p := permissionProblem(fi.Mode().Perm(), uid, known); p != "" {
			return nil, fmt.Errorf("%s: %s %s (mode %04o); restrict it with: chmod 600 %s", setting, path, p, fi.Mode().Perm(), path)
		}
	}
	b, err := readAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", setting, path, err)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

// permissionProblem says why a secret file with these permission bits and
// owner is not private enough, or "". Owner-only (0600, 0400) is always
// fine. Group-readable is fine only for a root-owned, group-read-only
// file: that is how Kubernetes mounts a Secret volume for a non-root pod
// (root:fsGroup, defaultMode 0440), and the group is the pod's own.
// Anything for others, or group write, is refused.
func permissionProblem(mode fs.FileMode, uid int, uidKnown bool) string {
	switch {
	case mode&0o007 != 0:
		return "is accessible by others"
	case mode&0o070 == 0:
		return ""
	case mode&0o020 != 0:
		return "is writable by its group"
	case uidKnown && uid == 0:
		return ""
	default:
		return "is accessible by group (allowed only for a root-owned, group-read-only file such as a Kubernetes Secret volume)"
	}
}

// ReadFiles returns cfg with every secret setting that names a file (the
// *-file settings: database-url-file, smtp-password-file,
// system-secret-file, …) replaced by that file's content, surrounding
// whitespace trimmed, and the file setting cleared. A file that is
// missing, unreadable, not private (see permissionProblem) or empty is an
// error naming the file setting. A secret set both ways is an error too.
func ReadFiles(cfg config.Config) (config.Config, error) {
	var errs []error
	for _, sf := range cfg.SecretFiles() {
		what := sf.FileSetting
		if sf.Env != "" {
			what += " (" + sf.Env + ")"
		}
		if sf.AlsoSet {
			errs = append(errs, fmt.Errorf("%s: set either %s or %s, not both", sf.Setting, sf.Setting, sf.FileSetting))
			continue
		}
		b, err := readPrivate(sf.Path, what, true)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(b) == 0 {
			errs = append(errs, fmt.Errorf("%s: %s is empty", what, sf.Path))
			continue
		}
		cfg, err = cfg.WithSecret(sf.Setting, string(b))
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
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
	b, err := readPrivate(path, "dev system secret", false)
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
		b, err := readPrivate(path, "dev system secret", false)
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
