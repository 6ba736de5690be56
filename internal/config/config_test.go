package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

const testSecret = "0123456789abcdef0123456789abcdef0123456789"

// env returns a fake getenv backed by m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFile writes content to a temp file and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sesame.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// flags registers Sesame's flags on a fresh set and parses args.
func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("sesame", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return fs
}

func TestDefaultsValidateInDev(t *testing.T) {
	c := Default()
	c.Dev = true
	if err := c.Validate(); err != nil {
		t.Fatalf("dev defaults: %v", err)
	}
	// Load with nothing set must give exactly the defaults.
	got, err := Load(flags(t), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Fatalf("Load() = %+v, want defaults %+v", got, Default())
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, `
issuer: https://yaml.example.com/
listen: ":7000"
log_level: warn
access_token_ttl: 5m
refresh_token_ttl: 48h
id_token_ttl: 10m
migrate: false
trusted_proxies: [10.0.0.0/8]
`)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want func(*Config)
	}{
		{
			name: "yaml over defaults",
			env:  map[string]string{"SESAME_CONFIG": file},
			want: func(c *Config) {
				c.Issuer = "https://yaml.example.com" // trailing slash stripped
				c.Listen = ":7000"
				c.LogLevel = "warn"
				c.AccessTokenTTL = 5 * time.Minute
				c.RefreshTokenTTL = 48 * time.Hour
				c.IDTokenTTL = 10 * time.Minute
				c.Migrate = false
				c.TrustedProxies = []string{"10.0.0.0/8"}
				c.ConfigFile = file
			},
		},
		{
			name: "env over yaml, flag over env",
			env: map[string]string{
				"SESAME_CONFIG":           file,
				"SESAME_LISTEN":           ":7001",
				"SESAME_ACCESS_TOKEN_TTL": "6m",
				"SESAME_LOG_LEVEL":        "debug",
				"SESAME_MIGRATE":          "true",
			},
			args: []string{"--listen=:7002", "--access-token-ttl", "7m", "--trusted-proxy", "192.0.2.1", "--trusted-proxy=192.0.2.2,192.0.2.3"},
			want: func(c *Config) {
				c.Issuer = "https://yaml.example.com"
				c.Listen = ":7002"                 // flag
				c.AccessTokenTTL = 7 * time.Minute // flag
				c.LogLevel = "debug"               // env
				c.Migrate = true                   // env
				c.RefreshTokenTTL = 48 * time.Hour // yaml
				c.IDTokenTTL = 10 * time.Minute    // yaml
				c.TrustedProxies = []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}
				c.ConfigFile = file
			},
		},
		{
			name: "--config flag beats SESAME_CONFIG",
			env:  map[string]string{"SESAME_CONFIG": filepath.Join(t.TempDir(), "missing.yaml")},
			args: []string{"--config", file, "--log-level=error"},
			want: func(c *Config) {
				c.Issuer = "https://yaml.example.com"
				c.Listen = ":7000"
				c.LogLevel = "error"
				c.AccessTokenTTL = 5 * time.Minute
				c.RefreshTokenTTL = 48 * time.Hour
				c.IDTokenTTL = 10 * time.Minute
				c.Migrate = false
				c.TrustedProxies = []string{"10.0.0.0/8"}
				c.ConfigFile = file
			},
		},
		{
			name: "flag left at default does not override env",
			env:  map[string]string{"SESAME_LISTEN": ":9000"},
			args: []string{"--dev"},
			want: func(c *Config) {
				c.Listen = ":9000"
				c.Dev = true
			},
		},
		{
			name: "DATABASE_URL fallback",
			env:  map[string]string{"DATABASE_URL": "postgres://u:p@db/plain"},
			want: func(c *Config) { c.DatabaseURL = "postgres://u:p@db/plain" },
		},
		{
			name: "SESAME_DATABASE_URL wins over DATABASE_URL",
			env: map[string]string{
				"DATABASE_URL":        "postgres://u:p@db/plain",
				"SESAME_DATABASE_URL": "postgresql://u:p@db/sesame",
			},
			want: func(c *Config) { c.DatabaseURL = "postgresql://u:p@db/sesame" },
		},
		{
			name: "[]string env is comma-separated and trimmed",
			env:  map[string]string{"SESAME_TRUSTED_PROXIES": " 10.0.0.1, 172.16.0.0/12,,fd00::/8 "},
			want: func(c *Config) { c.TrustedProxies = []string{"10.0.0.1", "172.16.0.0/12", "fd00::/8"} },
		},
		{
			name: "retention and outbound settings from env and flags",
			env: map[string]string{
				"SESAME_AUTH_EVENT_RETENTION": "720h",
				"SESAME_AUDIT_RETENTION":      "8760h",
				"SESAME_OUTBOUND_ALLOW_CIDRS": "10.1.0.0/16, fd00::/8",
			},
			args: []string{"--audit-retention=17520h", "--outbound-allow-cidr", "127.0.0.0/8"},
			want: func(c *Config) {
				c.AuthEventRetention = 720 * time.Hour
				c.AuditRetention = 17520 * time.Hour
				c.OutboundAllowCIDRs = []string{"127.0.0.0/8"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(flags(t, tt.args...), env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string // written to a temp file and named by SESAME_CONFIG when set
		env     map[string]string
		wantErr []string
	}{
		{
			name:    "bad duration env names the variable",
			env:     map[string]string{"SESAME_ACCESS_TOKEN_TTL": "abc"},
			wantErr: []string{"SESAME_ACCESS_TOKEN_TTL", `"abc"`},
		},
		{
			name:    "bad int env",
			env:     map[string]string{"SESAME_DB_MAX_OPEN_CONNS": "many"},
			wantErr: []string{"SESAME_DB_MAX_OPEN_CONNS"},
		},
		{
			name:    "bad bool env",
			env:     map[string]string{"SESAME_DEV": "maybe"},
			wantErr: []string{"SESAME_DEV"},
		},
		{
			name:    "unknown yaml key",
			yaml:    "issuer: https://id.example.com\nlisten_addr: \":80\"\n",
			wantErr: []string{`unknown key "listen_addr"`, "line 2"},
		},
		{
			name:    "config is not settable from yaml",
			yaml:    "config: other.yaml\n",
			wantErr: []string{`unknown key "config"`},
		},
		{
			name:    "bad yaml duration names the key",
			yaml:    "auth_code_ttl: soon\n",
			wantErr: []string{"auth_code_ttl", "duration"},
		},
		{
			name:    "bare integer duration rejected",
			yaml:    "auth_code_ttl: 60\n",
			wantErr: []string{"auth_code_ttl"},
		},
		{
			name:    "scalar where list expected",
			yaml:    "trusted_proxies: 10.0.0.1\n",
			wantErr: []string{"trusted_proxies", "want a list"},
		},
		{
			name:    "duplicate key",
			yaml:    "dev: true\ndev: false\n",
			wantErr: []string{`duplicate key "dev"`},
		},
		{
			name:    "not a mapping",
			yaml:    "- issuer\n",
			wantErr: []string{"top level must be a mapping"},
		},
		{
			name:    "missing named file",
			env:     map[string]string{"SESAME_CONFIG": "/nonexistent/sesame.yaml"},
			wantErr: []string{"config file", "/nonexistent/sesame.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range tt.env {
				e[k] = v
			}
			if tt.yaml != "" {
				e["SESAME_CONFIG"] = writeFile(t, tt.yaml)
			}
			_, err := Load(flags(t), env(e))
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestBadFlagNamesFlag(t *testing.T) {
	fs := pflag.NewFlagSet("sesame", pflag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	RegisterFlags(fs)
	err := fs.Parse([]string{"--access-token-ttl=abc"})
	if err == nil || !strings.Contains(err.Error(), "access-token-ttl") {
		t.Fatalf("Parse error = %v, want one naming access-token-ttl", err)
	}
}

func TestEmptyYAMLFile(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n"} {
		got, err := Load(nil, env(map[string]string{"SESAME_CONFIG": writeFile(t, content)}))
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if got.Listen != Default().Listen {
			t.Errorf("%q: listen = %q", content, got.Listen)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr []string // empty means valid
	}{
		{
			name: "production with https issuer and secret",
			mod: func(c *Config) {
				c.Issuer = "https://id.example.com"
				c.SystemSecret = testSecret
			},
		},
		{
			name: "https issuer with path and port",
			mod: func(c *Config) {
				c.Issuer = "https://example.com:8443/sesame"
				c.SystemSecretFile = "/run/secrets/sesame"
			},
		},
		{
			name: "http loopback variants",
			mod: func(c *Config) {
				c.Issuer = "http://[::1]:9000"
				c.SystemSecret = testSecret
			},
		},
		{
			name: "metrics and tracing settings",
			mod: func(c *Config) {
				c.SystemSecret = testSecret
				c.MetricsListen, c.MetricsToken = ":9090", "0123456789abcdef"
				c.Tracing, c.TracingEndpoint = true, "http://otel-collector:4318/v1/traces"
			},
		},
		{
			name: "bad metrics and tracing settings",
			mod: func(c *Config) {
				c.SystemSecret = testSecret
				c.MetricsListen, c.MetricsToken, c.TracingEndpoint = "9090", "short", "otel-collector:4318"
			},
			wantErr: []string{"metrics-listen: must be host:port", "metrics-token: must be at least 16 characters", "tracing-endpoint: must be an http:// or https:// URL"},
		},
		{
			name: "metrics on the main address",
			mod: func(c *Config) {
				c.SystemSecret = testSecret
				c.MetricsListen = c.Listen
			},
			wantErr: []string{"metrics-listen: must differ from listen"},
		},
		{
			name:    "non-dev without secret",
			mod:     func(c *Config) { c.Issuer = "https://id.example.com" },
			wantErr: []string{"system-secret: required outside --dev (set SESAME_SYSTEM_SECRET or --system-secret-file; generate one with: openssl rand -base64 48)"},
		},
		{
			name: "http non-localhost issuer rejected",
			mod: func(c *Config) {
				c.Issuer = "http://id.example.com"
				c.SystemSecret = testSecret
			},
			wantErr: []string{"issuer: must be an absolute https URL"},
		},
		{
			name: "http non-localhost issuer rejected even in dev",
			mod: func(c *Config) {
				c.Issuer = "http://192.168.1.10:8080"
				c.Dev = true
			},
			wantErr: []string{"issuer: must be an absolute https URL"},
		},
		{
			name:    "relative issuer",
			mod:     func(c *Config) { c.Dev, c.Issuer = true, "/sesame" },
			wantErr: []string{"issuer: must be an absolute https URL"},
		},
		{
			name:    "issuer with query",
			mod:     func(c *Config) { c.Dev, c.Issuer = true, "https://id.example.com?tenant=a" },
			wantErr: []string{"issuer: must not contain a query or fragment"},
		},
		{
			name:    "issuer with trailing slash",
			mod:     func(c *Config) { c.Dev, c.Issuer = true, "https://id.example.com/" },
			wantErr: []string{"issuer: must not end with a slash"},
		},
		{
			name:    "short secret",
			mod:     func(c *Config) { c.SystemSecret = "short" },
			wantErr: []string{"system-secret: must be at least 32 characters"},
		},
		{
			name:    "both secret sources",
			mod:     func(c *Config) { c.SystemSecret, c.SystemSecretFile = testSecret, "/run/secret" },
			wantErr: []string{"system-secret: set either"},
		},
		{
			name: "all failures reported together",
			mod: func(c *Config) {
				c.Dev = true
				c.Listen = "8080"
				c.LogLevel = "verbose"
				c.LogFormat = "xml"
				c.DBMaxOpenConns = 0
				c.DBMaxIdleConns = 1
				c.DatabaseURL = "mysql://db"
				c.AccessTokenTTL = 30 * time.Second
				c.RefreshTokenTTL = 9000 * time.Hour
				c.IDTokenTTL = 25 * time.Hour
				c.AuthCodeTTL = 11 * time.Minute
				c.LoginSessionTTL = time.Minute
				c.InteractionTTL = 2 * time.Hour
				c.KeyRotationPeriod = time.Minute
				c.TrustedProxies = []string{"10.0.0.0/8", "proxy.local"}
			},
			wantErr: []string{
				"listen:", "log-level:", "log-format:", "db-max-open-conns:", "db-max-idle-conns:",
				"database-url:", "access-token-ttl: must be between 1m and 24h (got 30s)",
				"refresh-token-ttl:", "id-token-ttl:", "auth-code-ttl: must be between 10s and 10m",
				"login-session-ttl:", "interaction-ttl:", "key-rotation-period:", `trusted-proxy: "proxy.local"`,
			},
		},
		{
			name: "database retry and request deadline bounded",
			mod: func(c *Config) {
				c.Dev = true
				c.DBRetryMaxDelay = 500 * time.Millisecond
				c.RequestTimeout = 0
			},
			wantErr: []string{"db-retry-max-delay: must be between 1s and 10m (got 500ms)", "request-timeout: must be between 1s and 5m (got 0s)"},
		},
		{
			name: "retention and outbound allow-list problems named",
			mod: func(c *Config) {
				c.Dev = true
				c.AuthEventRetention = time.Hour
				c.AuditRetention = -time.Hour
				c.OutboundAllowCIDRs = []string{"127.0.0.0/8", "10.0.0.1", "intranet"}
			},
			wantErr: []string{
				"auth-event-retention: must be 0 (keep for good) or at least 24h (got 1h)",
				"audit-retention: must be 0 (keep for good) or at least 24h (got -1h)",
				`outbound-allow-cidr: "10.0.0.1" is not a CIDR`, `outbound-allow-cidr: "intranet" is not a CIDR`,
			},
		},
		{
			name: "retention kept for good and an allow-list",
			mod: func(c *Config) {
				c.Dev = true
				c.AuthEventRetention, c.AuditRetention = 0, 365*24*time.Hour
				c.OutboundAllowCIDRs = []string{"127.0.0.0/8", "::1/128", "10.20.0.0/16"}
			},
		},
		{
			name: "key rotation disabled and sqlite urls",
			mod: func(c *Config) {
				c.Dev = true
				c.KeyRotationPeriod = 0
				c.DatabaseURL = "file:sesame.db?_pragma=busy_timeout(5000)"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(&c)
			err := c.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.wantErr) {
				t.Errorf("got %d failures, want %d:\n%v", n, len(tt.wantErr), err)
			}
		})
	}
}

func TestMasked(t *testing.T) {
	tests := []struct {
		name       string
		secret     string
		dbURL      string
		wantSecret string
		wantDB     string
	}{
		{"empty stays empty", "", "", "", ""},
		{"password hidden", testSecret, "postgres://sesame:hunter2@db:5432/sesame?sslmode=require", "********", "postgres://sesame:********@db:5432/sesame?sslmode=require"},
		{"no password printed as is", testSecret, "postgresql://sesame@db/sesame", "********", "postgresql://sesame@db/sesame"},
		{"password query parameter", "", "postgres://db/sesame?user=u&password=hunter2", "", "postgres://db/sesame?user=u&password=********"},
		{"sqlite untouched", "", "sqlite:///var/lib/sesame.db", "", "sqlite:///var/lib/sesame.db"},
		{"unparseable hidden entirely", "", "host=db password=hunter2", "", "********"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.SystemSecret, c.DatabaseURL = tt.secret, tt.dbURL
			c.TrustedProxies = []string{"10.0.0.1"}
			m := c.Masked()
			if m.SystemSecret != tt.wantSecret {
				t.Errorf("SystemSecret = %q, want %q", m.SystemSecret, tt.wantSecret)
			}
			if m.DatabaseURL != tt.wantDB {
				t.Errorf("DatabaseURL = %q, want %q", m.DatabaseURL, tt.wantDB)
			}
			if c.SystemSecret != tt.secret || c.DatabaseURL != tt.dbURL {
				t.Error("Masked modified the receiver")
			}
			m.TrustedProxies[0] = "changed"
			if c.TrustedProxies[0] != "10.0.0.1" {
				t.Error("Masked copy shares slices with the original")
			}
		})
	}
}

func TestWriteYAML(t *testing.T) {
	c := Default()
	c.TrustedProxies = []string{"10.0.0.0/8"}
	c.ConfigFile = "ignored.yaml"
	var buf bytes.Buffer
	if err := c.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"access_token_ttl: 1h0m0s\n",
		"auth_code_ttl: 2m0s\n",
		"shutdown_timeout: 15s\n",
		"db_max_open_conns: 20\n",
		"migrate: true\n",
		"listen: :8080\n",
		"trusted_proxies:\n  - 10.0.0.0/8\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ignored.yaml") {
		t.Errorf("config file path must not be written:\n%s", out)
	}

	// The output must load back to the same settings.
	p := writeFile(t, out)
	got, err := Load(nil, env(map[string]string{"SESAME_CONFIG": p}))
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	c.ConfigFile = p
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got, c)
	}

	// yaml.Marshal/Unmarshal on Config use the same rules.
	b, err := yaml.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := yaml.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(back, want) {
		t.Errorf("yaml round trip: got %+v", back)
	}
	if err := yaml.Unmarshal([]byte("bogus: 1\n"), &back); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("yaml.Unmarshal unknown key: %v", err)
	}
}

func TestRegisterFlags(t *testing.T) {
	fs := pflag.NewFlagSet("sesame", pflag.ContinueOnError)
	RegisterFlags(fs)
	for _, s := range settings() {
		if s.flag == "" {
			t.Errorf("field %s has no flag", s.field)
			continue
		}
		f := fs.Lookup(s.flag)
		if f == nil {
			t.Errorf("flag --%s not registered", s.flag)
			continue
		}
		if len(s.envs) == 0 || !strings.Contains(f.Usage, s.envs[0]) {
			t.Errorf("--%s usage %q does not name its env var", s.flag, f.Usage)
		}
	}
	if got := fs.Lookup("access-token-ttl").DefValue; got != "1h0m0s" {
		t.Errorf("access-token-ttl default shown as %q", got)
	}
	// The config-file lookup in Load is hard-coded; keep it in sync.
	f, _ := reflect.TypeFor[Config]().FieldByName("ConfigFile")
	if f.Tag.Get("flag") != configFlag || f.Tag.Get("env") != configEnv {
		t.Errorf("ConfigFile tags %q do not match configFlag/configEnv", f.Tag)
	}
}

func TestHelpers(t *testing.T) {
	c := Default()
	c.DataDir = "/var/lib/sesame"
	if got := c.SQLitePath(); got != "/var/lib/sesame/sesame.db" {
		t.Errorf("SQLitePath = %q", got)
	}
	if got := c.SecretFilePath(); got != "/var/lib/sesame/system.secret" {
		t.Errorf("SecretFilePath = %q", got)
	}
	for url, want := range map[string]bool{"": false, "postgres://db/x": true, "postgresql://db/x": true, "sqlite://x.db": false} {
		c.DatabaseURL = url
		if c.UsesPostgres() != want {
			t.Errorf("UsesPostgres(%q) = %v", url, !want)
		}
	}
	for issuer, want := range map[string]bool{
		"http://localhost:8080":  true,
		"http://127.0.0.1":       true,
		"http://[::1]:8080":      true,
		"https://id.example.com": false,
		"http://localhost.evil":  false,
		"http://127.0.0.2":       false,
	} {
		c.Issuer = issuer
		if c.IssuerIsLocalhost() != want {
			t.Errorf("IssuerIsLocalhost(%q) = %v", issuer, !want)
		}
	}
}
