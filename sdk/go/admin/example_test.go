package admin_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/sesame-idp/sesame/sdk/go/admin"
)

// Provisioning an app and a group from code, e.g. in a deployment job.
func ExampleNew() {
	ctx := context.Background()
	api, err := admin.New(ctx, admin.Config{
		Issuer:       "http://localhost:8080",
		ClientID:     os.Getenv("SESAME_ADMIN_CLIENT_ID"),
		ClientSecret: os.Getenv("SESAME_ADMIN_CLIENT_SECRET"),
	})
	if err != nil {
		log.Fatal(err)
	}
	name := "Orders"
	redirects := []string{"https://orders.example.com/callback"}
	created, err := api.CreateClientWithResponse(ctx, admin.ClientSpec{ClientName: &name, RedirectUris: &redirects})
	if err != nil {
		log.Fatal(err)
	}
	if created.JSON201 == nil { // a 4xx problem+json, e.g. 422 with every field named
		log.Fatalf("create client: %s %s", created.Status(), created.Body)
	}
	fmt.Println("client_id:", created.JSON201.ClientId)

	desc := "Payroll"
	if _, err := api.CreateGroupWithResponse(ctx, admin.GroupSpec{Name: "staff", Description: &desc}); err != nil {
		log.Fatal(err)
	}
	if _, err := api.AddGroupMemberWithResponse(ctx, "staff", admin.NewMember{User: "ada@example.com"}); err != nil {
		log.Fatal(err)
	}
}
