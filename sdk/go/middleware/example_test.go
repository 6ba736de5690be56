package middleware_test

import (
	"context"
	"database/sql"
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

// Several replicas of an API that accepts DPoP-bound tokens share the
// record of spent proofs in their database, so a proof replayed to another
// replica is refused too. db is opened with the database's driver, e.g.
// sql.Open("pgx", url) with github.com/jackc/pgx/v5/stdlib imported.
func ExampleNewSQLReplayStore() {
	ctx := context.Background()
	var db *sql.DB // the database every replica uses
	replay, err := middleware.NewSQLReplayStore(ctx, db, "dpop_proofs")
	if err != nil {
		log.Fatal(err)
	}
	v, err := middleware.New(ctx, middleware.Config{Issuer: "http://localhost:8080", DPoPReplay: replay})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("GET /orders", v.Require()(http.NotFoundHandler()))
}
