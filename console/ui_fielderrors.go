package console

import (
	"fmt"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/i18n"
)

// The field messages of the shared validators (oidc/clients, the console's
// services) are English, as the admin API returns them. A console page
// says the common ones in the admin's language: the validator keeps the
// format and arguments a message was made from (FieldError.Format, Args),
// the format names a catalogue entry here, and an argument that is itself
// a known message ("%q %s": a URI and what is wrong with it) is said too.
// A message not listed stays English.

// fieldMessageKeys are the formats the console says, by catalogue key;
// the entry names the arguments {a}, {b}, … in the format's order.
var fieldMessageKeys = map[string]string{
	"required":                                     "console.field.required",
	"at most %d characters":                        "console.field.max_chars",
	"at most %d characters, on one line":           "console.field.max_chars_line",
	"at most %d characters, no control characters": "console.field.max_chars_control",
	"at most %d":                                   "console.field.max",
	"must not contain control characters":          "console.field.control",
	"at least one is required":                     "console.field.at_least_one",
	"at least one is required with the authorization_code grant": "console.field.redirect_needed",
	"%q %s":  "console.field.value_problem",
	"%q: %s": "console.field.value_problem",
	"%s":     "console.field.as_is",
	"must not contain spaces or control characters":          "console.field.spaces",
	"must not contain wildcards; register every URI exactly": "console.field.wildcards",
	"must not contain a fragment (RFC 6749 §3.1.2)":          "console.field.fragment_rfc",
	"must not contain a fragment":                            "console.field.fragment",
	"must be an absolute URI":                                "console.field.absolute",
	"must name a host":                                       "console.field.host",
	"must not contain user info":                             "console.field.userinfo",
	"must use https (http is allowed only for localhost, 127.0.0.1 or [::1], RFC 8252 §7.3)": "console.field.https_rfc",
	"must use https (http is allowed only for localhost, 127.0.0.1 or [::1])":                "console.field.https",
	"must be an https URL or a data:image/svg+xml URI":                                       "console.field.logo",
	"must be an absolute https URL":                                                          "console.field.https_url",
	"must be an email address such as dev@example.com":                                       "console.field.email_dev",
	"a bare email address such as ada@example.com":                                           "console.field.email",
	"only letters, digits and . _ : - (starting with a letter or digit)":                     "console.field.group_name",
	"is not a URL": "console.field.not_url",
	"is an internal address; Sesame posts only to public addresses unless outbound_allow_cidrs allows the network": "console.field.internal",
	"choose at least one event type":                                     "console.field.event_types",
	"a BCP 47 language tag such as en, en-GB or zh-Hant-TW":              "console.field.locale",
	"another user has this address":                                      "console.field.email_taken",
	"refresh_token needs authorization_code or the device grant":         "console.field.refresh_needs",
	"client_credentials needs a confidential client":                     "console.field.cc_confidential",
	"token exchange needs a confidential client":                         "console.field.exchange_confidential",
	"must be none for a public client (it cannot keep a secret)":         "console.field.public_none",
	"private_key_jwt needs the client's public keys in jwks or jwks_uri": "console.field.jwt_keys",
	"only used with private_key_jwt":                                     "console.field.only_jwt",
	"set either jwks or jwks_uri, not both":                              "console.field.jwks_both",
	"unsupported %q (allowed: %s)":                                       "console.field.unsupported",
	// The rarer ones: every format a validator names (TestFieldMessagesTranslated).
	"%q answered %s, want 200 with a JSON array of redirect URIs":                                     "console.field.v_answered_want_200_with_a_json",
	"%q cannot be fetched: %v":                                                                        "console.field.v_cannot_be_fetched",
	"%q could not be fetched: %v":                                                                     "console.field.v_could_not_be_fetched",
	"%q does not list the redirect URI %q":                                                            "console.field.v_does_not_list_the_redirect_uri",
	"%q is a built-in scope":                                                                          "console.field.v_is_a_built_in_scope",
	"%q is not a JSON array of redirect URIs: %v":                                                     "console.field.v_is_not_a_json_array_of",
	"%q is not a custom scope name (the OpenID scopes always go with any resource)":                   "console.field.v_is_not_a_custom_scope_name",
	"%q is not a custom scope: define it first (sesame scope create, or the console's Scopes)":        "console.field.v_is_not_a_custom_scope_define",
	"%q is not a domain name":                                                                         "console.field.v_is_not_a_domain_name",
	"%q is not a registered resource":                                                                 "console.field.v_is_not_a_registered_resource",
	"%q is not an authenticator model's AAGUID (a UUID such as cb69481e-8ff7-4039-93ec-0a2729a154a8)": "console.field.v_is_not_an_authenticator_model_s",
	"%q is not an event type (see GET /webhooks/event-types)":                                         "console.field.v_is_not_an_event_type_see",
	"%q is not one of %v":                                                                             "console.field.v_is_not_one_of",
	"%q must have the scheme, host and port of one of the redirect URIs":                              "console.field.v_must_have_the_scheme_host_and",
	"%s clients have no secret to rotate":                                                             "console.field.v_clients_have_no_secret_to_rotate",
	"%s is only for confidential clients (resource servers that authenticate)":                        "console.field.v_is_only_for_confidential_clients_resourc",
	"%s is only for confidential clients whose only grant type is client_credentials":                 "console.field.v_is_only_for_confidential_clients_whose",
	"%s is reached only with a passkey: allow the passkey login method":                               "console.field.v_is_reached_only_with_a_passkey",
	"%s needs a phishing-resistant login method (passkey or password_security_key)":                   "console.field.v_needs_a_phishing_resistant_login_method",
	"1 to %d lower-case letters, digits and . _ - (starting with a letter or digit)":                  "console.field.v_1_to_lower_case_letters_digits",
	"1 to %d lower-case letters, digits and . _ : - (starting with a letter or digit)":                "console.field.v_1_to_lower_case_letters_digits2",
	"@import is not allowed: put the rules themselves here":                                           "console.field.v_import_is_not_allowed_put_the",
	"a CSV file whose first row names the columns (%s)":                                               "console.field.v_a_csv_file_whose_first_row",
	"a group cannot be renamed: create a new group and move its members":                              "console.field.v_a_group_cannot_be_renamed_create",
	"a line is too long or the file cannot be read":                                                   "console.field.v_a_line_is_too_long_or",
	"a number from 0 to %d":                                                                           "console.field.v_a_number_from_0_to",
	"a number from 1 to %d":                                                                           "console.field.v_a_number_from_1_to",
	"a provider cannot be renamed: its linked identities name it":                                     "console.field.v_a_provider_cannot_be_renamed_its",
	"a resource cannot be renamed: register a new one":                                                "console.field.v_a_resource_cannot_be_renamed_register",
	"a scope cannot be renamed: define a new one":                                                     "console.field.v_a_scope_cannot_be_renamed_define",
	"a user id or email address is required":                                                          "console.field.v_a_user_id_or_email_address",
	"after since":                                                                                     "console.field.v_after_since",
	"needs pushed_authorization_requests on (the PAR endpoint)":                                       "console.field.v_needs_par_endpoint",
	"an MDS file needs attestation \"direct\"":                                                        "console.field.v_an_mds_file_needs_attestation_direct",
	"an OpenID Connect provider needs the openid scope":                                               "console.field.v_an_openid_connect_provider_needs_the",
	"an RFC 3339 time such as 2026-01-02T15:04:05Z":                                                   "console.field.v_an_rfc_3339_time_such_as",
	"another custom scope has this name":                                                              "console.field.v_another_custom_scope_has_this_name",
	"another group has this name":                                                                     "console.field.v_another_group_has_this_name",
	"another resource has this audience":                                                              "console.field.v_another_resource_has_this_audience",
	"another resource has this name":                                                                  "console.field.v_another_resource_has_this_name",
	"another user has this username":                                                                  "console.field.v_another_user_has_this_username",
	"appears already on row %d":                                                                       "console.field.v_appears_already_on_row",
	"at most %d characters (got %d)":                                                                  "console.field.v_at_most_characters_got",
	"at most %d rows at once":                                                                         "console.field.v_at_most_rows_at_once",
	"at most 100 models":                                                                              "console.field.v_at_most_100_models",
	"at most 4096 characters":                                                                         "console.field.v_at_most_4096_characters",
	"at most 500 entries per list":                                                                    "console.field.v_at_most_500_entries_per_list",
	"between 0 and %d":                                                                                "console.field.v_between_0_and",
	"claim %q is a registered or standard claim and cannot be redefined":                              "console.field.v_claim_is_a_registered_or_standard",
	"claim %q is already released by the scope %q":                                                    "console.field.v_claim_is_already_released_by_the",
	"claim %q is listed twice":                                                                        "console.field.v_claim_is_listed_twice",
	"claim %q maps to an empty name":                                                                  "console.field.v_claim_maps_to_an_empty_name",
	"claim %q: 1 to %d lower-case letters, digits and . _ -":                                          "console.field.v_claim_1_to_lower_case_letters",
	"claim %q: a groups claim takes no attribute":                                                     "console.field.v_claim_a_groups_claim_takes_no",
	"claim %q: attribute %s":                                                                          "console.field.v_claim_attribute",
	"claim %q: source must be %q or %q":                                                               "console.field.v_claim_source_must_be_or",
	"code is required with the authorization_code grant":                                              "console.field.v_code_is_required_with_the_authorization",
	"csv or jsonl":        "console.field.v_csv_or_jsonl",
	"enter your password": "console.field.v_enter_your_password",
	"lower-case letters, digits and dashes, at most 40, e.g. \"acme\"": "console.field.v_lower_case_letters_digits_and_dashes",
	"must be 0 (the global setting) or between %d and %d seconds":      "console.field.v_must_be_0_the_global_setting",
	"must be UTF-8 text": "console.field.v_must_be_utf_8_text",
	"must be a JSON Web Key Set object ({\"keys\": [...]})":                                   "console.field.v_must_be_a_json_web_key",
	"must be a bare email address such as ada@example.com":                                    "console.field.v_must_be_a_bare_email_address",
	"must be an absolute https URL (or mailto:)":                                              "console.field.v_must_be_an_absolute_https_url",
	"must be an email address":                                                                "console.field.v_must_be_an_email_address",
	"must be between 1 and %d":                                                                "console.field.v_must_be_between_1_and",
	"must be between 1 and 100000":                                                            "console.field.v_must_be_between_1_and_100000",
	"must be between 1 and 50":                                                                "console.field.v_must_be_between_1_and_50",
	"must be between 1m and %s":                                                               "console.field.v_must_be_between_1m_and",
	"must be empty without the authorization_code grant":                                      "console.field.v_must_be_empty_without_the_authorization",
	"name at least one resource this client may exchange tokens for":                          "console.field.v_name_at_least_one_resource_this",
	"needs a backchannel_logout_uri":                                                          "console.field.v_needs_a_backchannel_logout_uri",
	"needs a frontchannel_logout_uri":                                                         "console.field.v_needs_a_frontchannel_logout_uri",
	"no such group: %s (create it first)":                                                     "console.field.v_no_such_group_create_it_first",
	"no user %s":                                                                              "console.field.v_no_user",
	"not a JSON object with the fields %s":                                                    "console.field.v_not_a_json_object_with_the",
	"not a cursor from a previous page":                                                       "console.field.v_not_a_cursor_from_a_previous",
	"not a usable FIDO MDS3 BLOB: %v":                                                         "console.field.v_not_a_usable_fido_mds3_blob",
	"one of %s":                                                                               "console.field.v_one_of",
	"one of 1h, 24h, 7d, 30d":                                                                 "console.field.v_one_of_1h_24h_7d_30d",
	"one of passkey, passlink, password_security_key":                                         "console.field.v_one_of_passkey_passlink_password_securit",
	"only applies to the authorization_code grant":                                            "console.field.v_only_applies_to_the_authorization_code",
	"only for clients that sign users in (the authorization_code grant)":                      "console.field.v_only_for_clients_that_sign_users",
	"only limits clients that sign users in (the authorization_code or device grant)":         "console.field.v_only_limits_clients_that_sign_users",
	"only used with subject_type pairwise":                                                    "console.field.v_only_used_with_subject_type_pairwise",
	"only used with the %s grant":                                                             "console.field.v_only_used_with_the_grant",
	"pairwise is only for clients that sign users in (the authorization_code grant)":          "console.field.v_pairwise_is_only_for_clients_that",
	"pairwise subjects are switched off (policy pairwise_subjects); only public is available": "console.field.v_pairwise_subjects_are_switched_off_polic",
	"pending, sent or failed":                                                                 "console.field.v_pending_sent_or_failed",
	"replace TENANT_ID with your directory (tenant) id":                                       "console.field.v_replace_tenant_id_with_your_directory",
	"required when the redirect URIs do not all have the same host":                           "console.field.v_required_when_the_redirect_uris_do",
	"required, at most 60 characters (shown on the button)":                                   "console.field.v_required_at_most_60_characters_shown",
	"required: the client id this provider issued to Sesame":                                  "console.field.v_required_the_client_id_this_provider",
	"required: the client secret this provider issued to Sesame":                              "console.field.v_required_the_client_secret_this_provider",
	"row %d is not valid CSV: %v":                                                             "console.field.v_row_is_not_valid_csv",
	"success or failure":                                                                      "console.field.v_success_or_failure",
	"the %s response could not be read":                                                       "console.field.v_the_response_could_not_be_read",
	"the client has no secret yet; rotate the secret in the same update to switch to %s":      "console.field.v_the_client_has_no_secret_yet",
	"the column %q appears twice":                                                             "console.field.v_the_column_appears_twice",
	"the header has no email column":                                                          "console.field.v_the_header_has_no_email_column",
	"the user's address cannot receive mail":                                                  "console.field.v_the_user_s_address_cannot_receive",
	"true or false":                                                                           "console.field.v_true_or_false",
	"unknown algorithm %q (have: %v)":                                                         "console.field.v_unknown_algorithm_have",
	"unknown claim %q (mappable: %s)":                                                         "console.field.v_unknown_claim_mappable",
	"unknown column %q: the columns are %s":                                                   "console.field.v_unknown_column_the_columns_are",
	"unknown group %q":                                                                        "console.field.v_unknown_group",
	"unknown scope %q (define it as a custom scope first)":                                    "console.field.v_unknown_scope_define_it_as_a",
	"unsupported %q (allowed: %s, %s, %s, or a custom scope)":                                 "console.field.v_unsupported_allowed_or_a_custom_scope",
	"unsupported %q (allowed: %s, or empty for enforce)":                                      "console.field.v_unsupported_allowed_or_empty_for_enforce",
	"unsupported %q (allowed: %s, or empty for the global policy)":                            "console.field.v_unsupported_allowed_or_empty_for_the",
	"unsupported %q (allowed: %v)":                                                            "console.field.v_unsupported_allowed",
	"unsupported %q (allowed: %v, or empty for allow)":                                        "console.field.v_unsupported_allowed_or_empty_for_allow",
	"unsupported %q (allowed: %v, or empty for enforce)":                                      "console.field.v_unsupported_allowed_or_empty_for_enforce2",
	"unsupported %q (allowed: create, link)":                                                  "console.field.v_unsupported_allowed_create_link",
	"unsupported %q (allowed: none for public clients, %s)":                                   "console.field.v_unsupported_allowed_none_for_public_clie",
	"unsupported %q (allowed: oidc, github)":                                                  "console.field.v_unsupported_allowed_oidc_github",
	"unsupported %q (allowed: public, pairwise)":                                              "console.field.v_unsupported_allowed_public_pairwise",
	"unsupported %q (only code is supported)":                                                 "console.field.v_unsupported_only_code_is_supported",
}

// verbRe finds a format's verbs, in order.
var verbRe = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z%]`)

// fieldMessage is fe's message in the request's language.
func (u *UI) fieldMessage(c *gin.Context, fe FieldError) string {
	if u.lang(c) == i18n.Default {
		return fe.Message
	}
	format, args := fe.Format, fe.Args
	if format == "" {
		format, args = fe.Message, nil
	}
	if s, ok := u.sayFormat(c, format, args); ok {
		return s
	}
	return fe.Message
}

// sayFormat says format with args from the catalogue; ok is false when
// the format is not one the console says (or its arguments do not fit).
func (u *UI) sayFormat(c *gin.Context, format string, args []any) (string, bool) {
	key, ok := fieldMessageKeys[format]
	if !ok {
		return "", false
	}
	verbs := verbRe.FindAllString(format, -1)
	if len(verbs) != len(args) || len(args) > len(argNames) {
		return "", false
	}
	pairs := make([]any, 0, 2*len(args))
	for i, a := range args {
		v := fmt.Sprintf(verbs[i], a)
		if s, isString := a.(string); isString && verbs[i] == "%s" {
			if said, ok := u.sayFormat(c, s, nil); ok {
				v = said
			}
		}
		pairs = append(pairs, argNames[i], v)
	}
	return u.T(c, key, pairs...), true
}

// argNames name a format's arguments in its catalogue entry.
var argNames = []string{"a", "b", "c", "d", "e"}
