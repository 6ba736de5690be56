// Command spa serves the example single-page app: static files that sign
// in with the browser SDK (sdk/js, served from this checkout with its
// dependency oauth4webapi from sdk/js/node_modules: run `npm ci` in
// sdk/js once) and call the example API.
//
// Against `sesame serve --dev`, with the API running (see ../api):
//
//	sesame client create --name "Example SPA" --public --redirect-uri http://localhost:5173/ \
//	    --post-logout-redirect-uri http://localhost:5173/ --scope openid,profile,email,groups,offline_access,reports:read
//	go run ./spa -client-id ID
package main

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Config is what the page needs to know.
type Config struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientId"`
	API      string `json:"api"`
	// RefreshBefore is the SDK's refreshBefore in seconds (0: its default).
	RefreshBefore int `json:"refreshBefore,omitempty"`
	// SDKDir is the browser SDK's package directory (sdk/js).
	SDKDir string `json:"-"`
}

var importMap = `{"imports":{"@sesame-idp/browser":"/sdk/index.js","oauth4webapi":"/vendor/oauth4webapi.js"}}`

// New returns the SPA's handler.
func New(cfg Config) (http.Handler, error) {
	sdk := filepath.Join(cfg.SDKDir, "src", "index.js")
	vendor := filepath.Join(cfg.SDKDir, "node_modules", "oauth4webapi", "build", "index.js")
	for _, f := range []string{sdk, vendor} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%w (run `npm ci` in %s)", err, cfg.SDKDir)
		}
	}
	page, err := static.ReadFile("static/index.html")
	if err != nil {
		return nil, err
	}
	page = []byte(strings.Replace(string(page), "{{IMPORTMAP}}", importMap, 1))
	sum := sha256.Sum256([]byte(importMap))
	// No inline script but the import map, allowed by its hash.
	csp := fmt.Sprintf("default-src 'self'; script-src 'self' 'sha256-%s'; connect-src 'self' %s %s; frame-ancestors 'self'",
		base64.StdEncoding.EncodeToString(sum[:]), origin(cfg.Issuer), origin(cfg.API))
	conf, _ := json.Marshal(cfg)

	mux := http.NewServeMux()
	file := func(path, ctype string, body func() ([]byte, error)) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			b, err := body()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(b)
		})
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Referrer-Policy", "no-referrer") // the page's URL carries the code for a moment
		_, _ = w.Write(page)
	})
	file("/config.json", "application/json", func() ([]byte, error) { return conf, nil })
	file("/app.js", "text/javascript", func() ([]byte, error) { return static.ReadFile("static/app.js") })
	file("/style.css", "text/css", func() ([]byte, error) { return static.ReadFile("static/style.css") })
	file("/sdk/index.js", "text/javascript", func() ([]byte, error) { return os.ReadFile(sdk) })
	file("/vendor/oauth4webapi.js", "text/javascript", func() ([]byte, error) { return os.ReadFile(vendor) })
	return mux, nil
}

func origin(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}

func main() {
	var cfg Config
	listen := flag.String("listen", "localhost:5173", "address to listen on (the redirect URI is http://<listen>/)")
	flag.StringVar(&cfg.Issuer, "issuer", envOr("SESAME_ISSUER", "http://localhost:8080"), "Sesame's issuer URL")
	flag.StringVar(&cfg.ClientID, "client-id", os.Getenv("SPA_CLIENT_ID"), "the SPA's client id (a public client)")
	flag.StringVar(&cfg.API, "api", "http://localhost:4000", "the example API's URL")
	flag.StringVar(&cfg.SDKDir, "sdk", "../sdk/js", "the browser SDK's directory")
	flag.IntVar(&cfg.RefreshBefore, "refresh-before", 0, "refresh access tokens expiring within this many seconds (0: the SDK's default, 60)")
	flag.Parse()
	if cfg.ClientID == "" {
		log.Fatal(errors.New("register the SPA first:\n  sesame client create --name \"Example SPA\" --public --redirect-uri http://localhost:5173/ --post-logout-redirect-uri http://localhost:5173/ --scope openid,profile,email,groups,offline_access,reports:read\nthen: go run ./spa -client-id ID"))
	}
	h, err := New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("SPA on http://%s (issuer %s, API %s)", *listen, cfg.Issuer, cfg.API)
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
