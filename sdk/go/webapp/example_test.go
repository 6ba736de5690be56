package webapp_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/sesame-idp/sesame/sdk/go/webapp"
)

// A server-rendered app: /login, /callback and /logout, and a home page
// only signed-in users see. Register it first:
//
//	sesame client create --name "My app" --redirect-uri http://localhost:3000/callback \
//	    --post-logout-redirect-uri http://localhost:3000/
func ExampleNew() {
	app, err := webapp.New(context.Background(), webapp.Config{
		Issuer:                "http://localhost:8080",
		ClientID:              os.Getenv("CLIENT_ID"),
		ClientSecret:          os.Getenv("CLIENT_SECRET"),
		RedirectURL:           "http://localhost:3000/callback",
		PostLogoutRedirectURL: "http://localhost:3000/",
		CookieSecret:          []byte(os.Getenv("COOKIE_SECRET")), // 32+ random bytes
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", app.Login)
	mux.HandleFunc("GET /callback", app.Callback)
	mux.HandleFunc("POST /logout", app.Logout)
	mux.Handle("GET /{$}", app.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := webapp.FromContext(r.Context())
		fmt.Fprintf(w, "Hello %s (%s)", s.Name(), s.Email())
	})))
	log.Fatal(http.ListenAndServe(":3000", mux))
}

// Calling an API on the user's behalf: AccessToken refreshes the token
// when it is about to expire (ask for the offline_access scope).
func ExampleApp_AccessToken() {
	var app *webapp.App // from webapp.New
	http.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		token, err := app.AccessToken(w, r)
		if err != nil {
			http.Redirect(w, r, "/login?return=/orders", http.StatusFound)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://localhost:4000/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		// ... http.DefaultClient.Do(req)
	})
}
