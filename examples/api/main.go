// Command api is an example API protected by Sesame access tokens with
// sdk/go/middleware: any signed-in user may call /api/me; /api/reports
// needs the scope reports:read and membership of the group staff;
// /api/admin needs the group admins. Browser apps on -allow-origin may
// call it (CORS).
//
// Against `sesame serve --dev` (see docs/quickstart.md for the scope and
// the group):
//
//	sesame client create --name "Example API" --grant-type client_credentials --scope sesame:introspect --json
//	go run ./api -client-id ID -client-secret SECRET
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/sesame-idp/sesame/sdk/go/middleware"
)

// Config is what the API needs to know.
type Config struct {
	Issuer       string
	ClientID     string // the API's own client, to introspect opaque tokens
	ClientSecret string
	AllowOrigins []string // browser origins that may call the API
}

// New returns the API's handler.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	v, err := middleware.New(ctx, middleware.Config{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret})
	if err != nil {
		return nil, err
	}
	v.WithLogger(slog.Default())
	mux := http.NewServeMux()
	// Every handler below runs only for a valid token meeting its requirements.
	mux.Handle("GET /api/me", v.Require()(http.HandlerFunc(me)))
	mux.Handle("GET /api/reports", v.Require(middleware.Scopes("reports:read"), middleware.Groups("staff"))(http.HandlerFunc(reports)))
	mux.Handle("GET /api/admin", v.Require(middleware.Groups("admins"))(http.HandlerFunc(admin)))
	return cors(cfg.AllowOrigins, mux), nil
}

func me(w http.ResponseWriter, r *http.Request) {
	tok, _ := middleware.FromContext(r.Context())
	writeJSON(w, map[string]any{"sub": tok.Subject, "client_id": tok.ClientID, "scopes": tok.Scopes, "groups": tok.Groups})
}

func reports(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"reports": []string{"Q1 revenue", "Q2 revenue"}})
}

func admin(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"admin": true})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// cors lets pages on the listed origins call the API with a bearer token
// (no cookies: Access-Control-Allow-Credentials is never sent).
func cors(origins []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && slices.Contains(origins, o) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", o)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET")
				h.Set("Access-Control-Allow-Headers", "Authorization, DPoP")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func main() {
	var cfg Config
	var origins stringList
	listen := flag.String("listen", "localhost:4000", "address to listen on")
	flag.StringVar(&cfg.Issuer, "issuer", envOr("SESAME_ISSUER", "http://localhost:8080"), "Sesame's issuer URL")
	flag.StringVar(&cfg.ClientID, "client-id", os.Getenv("API_CLIENT_ID"), "the API's client id (client_credentials, scope sesame:introspect)")
	flag.StringVar(&cfg.ClientSecret, "client-secret", os.Getenv("API_CLIENT_SECRET"), "the API's client secret")
	flag.Var(&origins, "allow-origin", "browser origin allowed to call the API (repeatable; default http://localhost:5173)")
	flag.Parse()
	if len(origins) == 0 {
		origins = stringList{"http://localhost:5173"}
	}
	cfg.AllowOrigins = origins
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		log.Fatal("register the API first:\n  sesame client create --name \"Example API\" --grant-type client_credentials --scope sesame:introspect\nthen: go run ./api -client-id ID -client-secret SECRET")
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("API on http://%s (issuer %s)", *listen, cfg.Issuer)
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

type stringList []string

func (s *stringList) String() string     { return "" }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
