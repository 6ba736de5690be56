package middleware_test

import (
	"context"
	"encoding/json"
	"log"
	"net/http"

	"github.com/sesame-idp/sesame/sdk/go/middleware"
)

// An API whose /orders needs the scope orders:read and membership of the
// group staff. The API is registered at Sesame as a resource server that
// may introspect tokens:
//
//	sesame client create --name "Orders API" --grant-type client_credentials --scope sesame:introspect
func ExampleVerifier_Require() {
	v, err := middleware.New(context.Background(), middleware.Config{
		Issuer:       "http://localhost:8080",
		ClientID:     "ORDERS_API_CLIENT_ID",
		ClientSecret: "ORDERS_API_CLIENT_SECRET",
	})
	if err != nil {
		log.Fatal(err)
	}
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middleware.FromContext(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]any{"user": tok.Subject, "groups": tok.Groups})
	})
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Require(middleware.Scopes("orders:read"), middleware.Groups("staff"))(orders))
	log.Fatal(http.ListenAndServe(":4000", mux))
}

// Checking a token by hand, e.g. in a gRPC interceptor or a job queue.
func ExampleVerifier_Verify() {
	v, err := middleware.New(context.Background(), middleware.Config{Issuer: "http://localhost:8080", Audience: "https://orders.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := v.Verify(context.Background(), "eyJhbGciOi...")
	if err != nil {
		log.Printf("refused: %v", err)
		return
	}
	if err := tok.Check(middleware.AnyGroup("staff", "admins")); err != nil {
		log.Printf("forbidden: %v", err)
		return
	}
	log.Printf("%s may proceed", tok.Subject)
}
