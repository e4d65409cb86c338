package cli

import (
	"fmt"
	"os"
	"strings"
)

// Salama reads its environment in this file only. Every flag has a
// SALAMA_* variable (flags.str and the others, config.go: a value that does
// not parse is an error, never silently the default), and the variables
// below carry secrets, so they have no flag: a flag's value shows in the
// process list.
const (
	envNetworkSecret   = "SALAMA_NETWORK_SECRET"   // 64 hex characters; otherwise network.secret in the data directory
	envSigningKey      = "SALAMA_SIGNING_KEY"      // otherwise signing.key in the data directory
	envRecoveryCode    = "SALAMA_RECOVERY_CODE"    // an organisation's recovery code, for org/user commands without a prompt
	envBackupRecipient = "SALAMA_BACKUP_RECIPIENT" // age public keys to encrypt backups to, comma-separated
	atAPIKeyEnv        = "SALAMA_AT_API_KEY"       // Africa's Talking's API key
)

// readSecrets fills in the secret-carrying variables, once per command
// (flags.newConfig).
func (c *config) readSecrets() {
	c.NetworkSecret = os.Getenv(envNetworkSecret)
	c.SigningKey = os.Getenv(envSigningKey)
	c.secrets = secrets{
		RecoveryCode:    os.Getenv(envRecoveryCode),
		BackupRecipient: os.Getenv(envBackupRecipient),
		ATAPIKey:        os.Getenv(atAPIKeyEnv),
	}
}

// lookupEnv is a flag's variable, when it is set and not empty (an empty
// one, as an EnvironmentFile line "SALAMA_X=" gives, means the default).
func lookupEnv(flagName string) (string, bool) {
	v := os.Getenv(envName(flagName))
	return v, v != ""
}

func envName(flagName string) string {
	return "SALAMA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envError is a flag's variable that does not parse as the flag's kind.
func envError(flagName, value, kind string) error {
	return fmt.Errorf("%s=%q is not %s (it sets --%s)", envName(flagName), value, kind, flagName)
}
