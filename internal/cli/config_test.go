package cli

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

// The commands that open the database, and the others with flags, as
// typed after "salama".
var (
	databaseCommands = [][]string{
		{"serve"}, {"audit", "verify"}, {"keys", "rotate"}, {"purge"}, {"backup"}, {"restore"}, {"jobs"},
		{"org", "create"}, {"org", "rotate-key"}, {"user", "add"}, {"directory", "export"}, {"directory", "import"},
	}
	otherCommands = [][]string{{"signing-key"}, {"backup", "keygen"}, {"ussd"}}
)

// Flags that deliberately have no variable: they say what one run does
// (a file, a switch that changes what the command does), which a
// variable left in an EnvironmentFile must not decide for every run.
// salama serve has none.
var noVariable = map[string][]string{
	"audit verify":     {"checkpoint"},
	"keys rotate":      {"network-secret", "signing-key", "out", "lost", "previous-key"},
	"purge":            {"dry-run"},
	"backup":           {"to", "recipients-file"},
	"restore":          {"from", "identity", "check", "allow-expired", "secrets-only"},
	"jobs":             {"state", "limit"},
	"org create":       {"name", "intake", "child-protection"},
	"org rotate-key":   {"org"},
	"user add":         {"org", "username", "name", "role"},
	"directory export": {"to"},
	"directory import": {"dry-run"},
	"backup keygen":    {"out", "classic"},
}

// Flags whose variable is not SALAMA_<FLAG>.
var otherVariable = map[string]string{"recipient": "SALAMA_BACKUP_RECIPIENT"}

var errStop = errors.New("stopped after Parse by the test")

// parse runs "salama cmd args…" up to its flags' Parse and returns the
// flags and the configuration they filled; the command does nothing more.
func parse(t *testing.T, cmd []string, args ...string) (flags, *config) {
	t.Helper()
	var f flags
	var c *config
	parsed = func(pf flags, pc *config) error {
		f, c = pf, pc
		return errStop
	}
	defer func() { parsed = nil }()
	var out bytes.Buffer
	Main(append(append([]string{"salama"}, cmd...), args...), &out, &out)
	if f.FlagSet == nil {
		t.Fatalf("salama %s did not parse its flags:\n%s", strings.Join(cmd, " "), out.String())
	}
	return f, c
}

// unsetSalamaEnv unsets every SALAMA_* variable for the test.
func unsetSalamaEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "SALAMA_") {
			t.Setenv(name, "")
		}
	}
}

// Issue 13 item 6: every command that opens the database fills the shared
// fields (data directory, database, the secrets) the same way, from the
// same flags, with the same help, and from the same variables.
func TestSharedFieldsFilledAlike(t *testing.T) {
	unsetSalamaEnv(t)
	env := map[string]string{
		"SALAMA_DATA": "/env/data", "SALAMA_DATABASE": "postgres://env/db",
		"SALAMA_NETWORK_SECRET": "env-network-secret", "SALAMA_SIGNING_KEY": "env-signing-key",
		"SALAMA_RECOVERY_CODE": "env-recovery", "SALAMA_BACKUP_RECIPIENT": "age1env", "SALAMA_AT_API_KEY": "env-at",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	type sharedFields struct{ DataDir, Database, NetworkSecret, SigningKey string }
	fromEnv := sharedFields{DataDir: "/env/data", Database: "postgres://env/db", NetworkSecret: "env-network-secret", SigningKey: "env-signing-key"}
	fromFlags := fromEnv
	fromFlags.DataDir, fromFlags.Database = "/flag/data", "postgres://flag/db"
	wantSecrets := secrets{RecoveryCode: "env-recovery", BackupRecipient: "age1env", ATAPIKey: "env-at"}
	shared := func(c *config) sharedFields {
		return sharedFields{DataDir: c.DataDir, Database: c.Database, NetworkSecret: c.NetworkSecret, SigningKey: c.SigningKey}
	}
	var help map[string]string
	for _, cmd := range databaseCommands {
		name := strings.Join(cmd, " ")
		f, c := parse(t, cmd)
		if got := shared(c); got != fromEnv || c.secrets != wantSecrets {
			t.Errorf("salama %s from the environment: %+v %+v", name, got, c.secrets)
		}
		these := map[string]string{}
		for _, fl := range []string{"data", "database"} {
			if g := f.Lookup(fl); g == nil {
				t.Errorf("salama %s has no --%s", name, fl)
			} else {
				these[fl] = g.Usage
			}
		}
		if help == nil {
			help = these
		} else if these["data"] != help["data"] || these["database"] != help["database"] {
			t.Errorf("salama %s describes --data and --database otherwise: %q, want %q", name, these, help)
		}
		if _, c := parse(t, cmd, "--data", "/flag/data", "--database", "postgres://flag/db"); shared(c) != fromFlags {
			t.Errorf("salama %s from flags: %+v", name, shared(c))
		}
	}
	// signing-key reads the data directory and the signing key alike.
	if _, c := parse(t, []string{"signing-key"}); c.DataDir != fromEnv.DataDir || c.SigningKey != fromEnv.SigningKey {
		t.Errorf("salama signing-key: %+v", shared(c))
	}
}

// Issue 13 item 6: every flag has its SALAMA_ variable (named in its help)
// and the variable fills the field the flag does, unless it is one of the
// few listed above that say what one run does.
func TestEveryFlagHonoursItsVariable(t *testing.T) {
	unsetSalamaEnv(t)
	for _, cmd := range append(databaseCommands, otherCommands...) {
		name := strings.Join(cmd, " ")
		f, _ := parse(t, cmd)
		exempt := map[string]bool{}
		for _, fl := range noVariable[name] {
			exempt[fl] = true
			if f.Lookup(fl) == nil {
				t.Errorf("salama %s: --%s is listed without a variable but is no flag", name, fl)
			}
		}
		f.VisitAll(func(fl *flag.Flag) {
			variable := envName(fl.Name)
			switch {
			case exempt[fl.Name]:
				if strings.Contains(fl.Usage, "("+variable+")") {
					t.Errorf("salama %s --%s is listed without a variable but names %s", name, fl.Name, variable)
				}
				return
			case otherVariable[fl.Name] != "":
				variable = otherVariable[fl.Name]
			case !strings.Contains(fl.Usage, "("+variable+")"):
				t.Errorf("salama %s --%s has no %s (or its help does not name it)", name, fl.Name, variable)
				return
			}
			value, want := "from-the-environment", "from-the-environment"
			if g, ok := fl.Value.(flag.Getter); ok {
				switch d := g.Get().(type) {
				case bool:
					value = "true"
					if d {
						value = "false"
					}
					want = value
				case int:
					value, want = "7", "7"
				case time.Duration:
					value, want = "7m", "7m0s"
				}
			}
			t.Run(name+"/"+fl.Name, func(t *testing.T) {
				t.Setenv(variable, value)
				f, _ := parse(t, cmd)
				if got := f.Lookup(fl.Name).Value.String(); got != want {
					t.Errorf("%s=%s gives --%s %q", variable, value, fl.Name, got)
				}
			})
		})
	}
}
