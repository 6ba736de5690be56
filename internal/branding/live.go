package branding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// CacheTTL bounds how stale a replica's branding is when it missed a
// change announcement.
const CacheTTL = 10 * time.Second

// Store is the policy store the document lives in (*store.Store).
type Store interface {
	GetPolicy(ctx context.Context, name string) (*models.Policy, error)
	PutPolicy(ctx context.Context, p *models.Policy) error
}

// Brand is the effective branding, ready for pages and mails.
type Brand struct {
	Document
	// Product is ProductName or DefaultProduct.
	Product string
	// LogoHash and CSSHash version the logo's and stylesheet's URLs ("" when
	// there is none).
	LogoHash, CSSHash string
	// DarkAdjusted lists the colours the dark scheme shows lighter.
	DarkAdjusted []string
}

// LogoPath is the logo's URL path ("" without a logo).
func (b Brand) LogoPath() string {
	if b.LogoHash == "" {
		return ""
	}
	return PathLogo + "?v=" + b.LogoHash
}

// LogoContentID is the Content-ID a mail carries the logo under ("" without
// a logo): versioned by its hash, so a mail names exactly the logo its
// sender attaches; domain (the issuer's host) makes it globally unique,
// as RFC 2392 asks.
func (b Brand) LogoContentID(domain string) string {
	if b.LogoHash == "" {
		return ""
	}
	if domain == "" {
		domain = "sesame.invalid"
	}
	return "logo." + b.LogoHash + "@" + domain
}

// CSSPath is the custom stylesheet's URL path ("" without one).
func (b Brand) CSSPath() string {
	if b.CSSHash == "" {
		return ""
	}
	return PathCSS + "?v=" + b.CSSHash
}

// ThemePath is the colour stylesheet for primary and accent ("" or
// #rrggbb each; a client's own colours replace the global ones): "" when
// both are Sesame's.
func (b Brand) ThemePath(primary, accent string) string {
	if primary == "" {
		primary = b.PrimaryColor
	}
	if accent == "" {
		accent = b.AccentColor
	}
	return ThemePath(primary, accent)
}

// ThemePath is /branding/theme.css for the two colours ("" when both are
// empty or unusable): the colours are the whole input, so the URL names
// the stylesheet exactly and every replica serves the same bytes.
func ThemePath(primary, accent string) string {
	q := url.Values{}
	if ColorProblem(primary, minText) == "" && primary != "" {
		q.Set("p", strings.TrimPrefix(strings.ToLower(primary), "#"))
	}
	if ColorProblem(accent, minNonTxt) == "" && accent != "" {
		q.Set("a", strings.TrimPrefix(strings.ToLower(accent), "#"))
	}
	if len(q) == 0 {
		return ""
	}
	return PathTheme + "?" + q.Encode()
}

// NewBrand is the effective branding of d.
func NewBrand(d Document) Brand {
	b := Brand{Document: d, Product: d.ProductName, LogoHash: d.Logo.Hash()}
	if b.Product == "" {
		b.Product = DefaultProduct
	}
	if d.CustomCSS != "" {
		b.CSSHash = shortHash([]byte(d.CustomCSS))
	}
	if c, err := ParseColor(d.PrimaryColor); err == nil {
		if _, adj := forDark(c, minText); adj {
			b.DarkAdjusted = append(b.DarkAdjusted, "primary_color")
		}
	}
	if c, err := ParseColor(d.AccentColor); err == nil {
		if _, adj := forDark(c, minNonTxt); adj {
			b.DarkAdjusted = append(b.DarkAdjusted, "accent_color")
		}
	}
	return b
}

// Live is the branding of this replica: the stored document, cached for
// CacheTTL; when the database cannot be read it keeps the last branding
// it had (an error page during an outage still looks like the others).
type Live struct {
	st  Store
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	cached  *Brand
	expires time.Time
}

// NewLive returns the live branding over st.
func NewLive(st Store, log *slog.Logger) *Live {
	if log == nil {
		log = slog.Default()
	}
	return &Live{st: st, log: log, now: time.Now}
}

// Current returns the effective branding. Its error is the store's when
// nothing was loaded yet; Brand is then Sesame's own.
func (l *Live) Current(ctx context.Context) (Brand, error) {
	l.mu.Lock()
	if l.cached != nil && l.now().Before(l.expires) {
		b := *l.cached
		l.mu.Unlock()
		return b, nil
	}
	stale := l.cached
	l.mu.Unlock()
	d, err := Load(ctx, l.st)
	if err != nil {
		if stale != nil {
			return *stale, nil
		}
		return NewBrand(Document{}), err
	}
	b := NewBrand(d)
	l.mu.Lock()
	l.cached, l.expires = &b, l.now().Add(CacheTTL)
	l.mu.Unlock()
	return b, nil
}

// Cached is Current for callers without a request context (the page
// renderer): a cache miss reads the store with a short deadline of its
// own, and a failure is logged and answered with the last branding.
func (l *Live) Cached() Brand {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := l.Current(ctx)
	if err != nil {
		l.log.Warn("branding not read; pages use Sesame's own", "err", err)
	}
	return b
}

// Save stores d, updatedBy naming who did it, and drops this replica's
// copy. It does not validate: the console does.
func (l *Live) Save(ctx context.Context, d Document, updatedBy string) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := l.st.PutPolicy(ctx, &models.Policy{Name: Name, Value: string(b), UpdatedBy: updatedBy}); err != nil {
		return err
	}
	l.Invalidate()
	return nil
}

// Invalidate drops the cached copy (another replica announced a change).
func (l *Live) Invalidate() {
	l.mu.Lock()
	l.cached = nil
	l.mu.Unlock()
}

// Load reads the stored document (empty before an admin saved one).
func Load(ctx context.Context, st Store) (Document, error) {
	row, err := st.GetPolicy(ctx, Name)
	if errors.Is(err, models.ErrNotFound) {
		return Document{}, nil
	}
	if err != nil {
		return Document{}, err
	}
	var d Document
	if err := json.Unmarshal([]byte(row.Value), &d); err != nil {
		return Document{}, fmt.Errorf("decode stored branding: %w", err)
	}
	return d, nil
}
