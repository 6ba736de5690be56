// Command webapp is an example server-rendered Go web app that signs
// people in with Sesame through sdk/go/webapp, shows who they are and
// calls the example API on their behalf (server side, with their access
// token).
//
// Against `sesame serve --dev`:
//
//	sesame client create --name "Example web app" --redirect-uri http://localhost:3000/callback \
//	    --post-logout-redirect-uri http://localhost:3000/ --scope openid,profile,email,groups,offline_access,reports:read
//	go run ./webapp -client-id ID -client-secret SECRET
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"html/template"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/sdk/go/webapp"
)

// Config is what the app needs to know.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// BaseURL is where the app is reached, e.g. http://localhost:3000.
	BaseURL string
	// API is the example API's URL ("" hides the API calls).
	API string
	// CookieSecret encrypts the session cookie (32+ bytes).
	CookieSecret []byte
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example web app · Sesame</title>
<style>:root{color-scheme:light dark;font-family:system-ui,sans-serif}main{max-width:48rem;margin:2rem auto;padding:0 1rem}
output{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}button{font:inherit;padding:.4rem .8rem}</style>
</head><body><main>
<h1>Example web app</h1>
<p>Signed in as <strong id="who">{{.Name}} &lt;{{.Email}}&gt;</strong>, groups: <span id="groups">{{if .Groups}}{{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{end}}{{else}}none{{end}}</span>.</p>
{{if .API}}<h2>The example API, called by this server with your access token</h2>
<ul>{{range .Calls}}<li><code>GET {{.Path}}</code>: <output id="{{.ID}}">{{.Result}}</output></li>{{end}}</ul>{{end}}
<form method="post" action="/logout"><button id="sign-out" type="submit">Sign out</button></form>
</main></body></html>`))

type call struct{ ID, Path, Result string }

// New returns the app's handler.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	app, err := webapp.New(ctx, webapp.Config{
		Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: base + "/callback", PostLogoutRedirectURL: base + "/",
		Scopes:       []string{"openid", "profile", "email", "groups", "offline_access", "reports:read"},
		CookieSecret: cfg.CookieSecret,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", app.Login)
	mux.HandleFunc("GET /callback", app.Callback)
	mux.HandleFunc("POST /logout", app.Logout)
	mux.Handle("GET /{$}", app.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := webapp.FromContext(r.Context())
		data := map[string]any{"Name": s.Name(), "Email": s.Email(), "Groups": s.Groups(), "API": cfg.API}
		if cfg.API != "" {
			token, err := app.AccessToken(w, r) // refreshed here when about to expire
			if err != nil {
				http.Redirect(w, r, "/login", http.StatusFound)
				return
			}
			var calls []call
			for _, p := range []string{"me", "reports", "admin"} {
				calls = append(calls, call{ID: "result-" + p, Path: "/api/" + p, Result: callAPI(r.Context(), cfg.API+"/api/"+p, token)})
			}
			data["Calls"] = calls
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "+cfg.Issuer)
		_ = page.Execute(w, data)
	})))
	return mux, nil
}

func callAPI(ctx context.Context, url, token string) string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.Status[:3] + " " + strings.TrimSpace(string(body))
}

func main() {
	var cfg Config
	listen := flag.String("listen", "localhost:3000", "address to listen on")
	flag.StringVar(&cfg.Issuer, "issuer", envOr("SESAME_ISSUER", "http://localhost:8080"), "Sesame's issuer URL")
	flag.StringVar(&cfg.ClientID, "client-id", os.Getenv("WEBAPP_CLIENT_ID"), "the app's client id")
	flag.StringVar(&cfg.ClientSecret, "client-secret", os.Getenv("WEBAPP_CLIENT_SECRET"), "the app's client secret")
	flag.StringVar(&cfg.API, "api", "http://localhost:4000", `the example API's URL ("" to skip)`)
	flag.Parse()
	cfg.BaseURL = "http://" + *listen
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		log.Fatal("register the app first:\n  sesame client create --name \"Example web app\" --redirect-uri http://localhost:3000/callback --post-logout-redirect-uri http://localhost:3000/ --scope openid,profile,email,groups,offline_access,reports:read\nthen: go run ./webapp -client-id ID -client-secret SECRET")
	}
	if s := os.Getenv("COOKIE_SECRET"); len(s) >= 32 {
		cfg.CookieSecret = []byte(s)
	} else {
		// A new secret per start: sessions end when the app restarts.
		cfg.CookieSecret = []byte(rand.Text() + rand.Text())
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("web app on %s (issuer %s)", cfg.BaseURL, cfg.Issuer)
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
