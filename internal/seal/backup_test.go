package seal_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/salama-ke/salama/internal/seal"
)

func TestBackupRecipients(t *testing.T) {
	x1, _ := age.GenerateX25519Identity()
	x2, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	tests := []struct {
		name string
		keys []string
		err  bool
		pq   bool
		n    int
	}{
		{"x25519", []string{x1.Recipient().String()}, false, false, 1},
		{"two x25519, one twice", []string{x1.Recipient().String(), " " + x2.Recipient().String(), x1.Recipient().String()}, false, false, 2},
		{"hybrid", []string{pq.Recipient().String()}, false, true, 1},
		{"mixed", []string{pq.Recipient().String(), x1.Recipient().String()}, true, false, 0},
		{"private key", []string{x1.String()}, true, false, 0},
		{"garbage", []string{"age1notakey"}, true, false, 0},
		{"ssh", []string{"ssh-ed25519 AAAA"}, true, false, 0},
		{"none", []string{"", " "}, true, false, 0},
	}
	for _, tt := range tests {
		r, err := seal.ParseBackupRecipients(tt.keys)
		if (err != nil) != tt.err {
			t.Errorf("%s: err %v, want error %v", tt.name, err, tt.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, seal.ErrBackupRecipient) {
				t.Errorf("%s: %v is not ErrBackupRecipient", tt.name, err)
			}
			for _, k := range tt.keys {
				if len(k) > 10 && strings.Contains(err.Error(), strings.TrimSpace(k)) {
					t.Errorf("%s: the error repeats the input", tt.name)
				}
			}
			continue
		}
		if r.PostQuantum() != tt.pq || len(r.Keys()) != tt.n {
			t.Errorf("%s: pq %v, %d keys", tt.name, r.PostQuantum(), len(r.Keys()))
		}
	}
}

func TestBackupEncryptDecrypt(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	other, _ := age.GenerateX25519Identity()
	plain := bytes.Repeat([]byte("salama backup line\n"), 10000)
	for _, c := range []struct {
		name      string
		recipient string
		identity  string
	}{
		{"x25519", x.Recipient().String(), x.String()},
		{"hybrid", pq.Recipient().String(), pq.String()},
	} {
		r, err := seal.ParseBackupRecipients([]string{c.recipient})
		if err != nil {
			t.Fatal(err)
		}
		var file bytes.Buffer
		w, err := r.Encrypt(&file)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(file.Bytes(), []byte("salama backup line")) {
			t.Fatalf("%s: plaintext in the file", c.name)
		}
		ids, err := seal.ParseBackupIdentities(strings.NewReader("# created by age-keygen\n" + c.identity + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprintf("%v %+v", ids, *ids); strings.Contains(s, "AGE-SECRET") {
			t.Errorf("%s: identities print their keys", c.name)
		}
		pr, err := ids.Decrypt(bytes.NewReader(file.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(pr)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%s: round trip: %v", c.name, err)
		}
		// Cut short: an error at the end, never a silently shorter file.
		pr, err = ids.Decrypt(bytes.NewReader(file.Bytes()[:file.Len()-1000]))
		if err == nil {
			if _, err = io.ReadAll(pr); err == nil {
				t.Errorf("%s: a truncated backup read without error", c.name)
			}
		}
		wrong, _ := seal.ParseBackupIdentities(strings.NewReader(other.String()))
		if _, err := wrong.Decrypt(bytes.NewReader(file.Bytes())); !errors.Is(err, seal.ErrBackupIdentity) {
			t.Errorf("%s: wrong identity: %v", c.name, err)
		}
	}
	for _, bad := range []string{"", "# nothing\n", "AGE-SECRET-KEY-1NOTAKEY\n", "age1publickeyinstead\n"} {
		_, err := seal.ParseBackupIdentities(strings.NewReader(bad))
		if !errors.Is(err, seal.ErrBackupIdentity) {
			t.Errorf("identity file %q: %v", bad, err)
		}
		if bad != "" && strings.Contains(err.Error(), strings.TrimSpace(bad)) {
			t.Errorf("the error quotes the identity file")
		}
	}
}

func TestDeploymentSecrets(t *testing.T) {
	src := t.TempDir()
	if _, err := seal.LoadDeploymentSecrets(src, "", ""); err == nil {
		t.Fatal("loaded secrets from an empty directory (it must never create them)")
	}
	if _, err := seal.LoadOrCreateNetworkSecret(src, ""); err != nil {
		t.Fatal(err)
	}
	key, err := seal.LoadOrCreateSigningKey(src, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := seal.LoadDeploymentSecrets(src, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if d.SigningPublic().String() != key.Public().String() {
		t.Error("wrong signing key loaded")
	}
	text, _ := d.MarshalText()
	if s := fmt.Sprintf("%v %+v %s", d, *d, d); strings.Contains(s, string(text[8:40])) {
		t.Error("secrets print their keys")
	}
	var back seal.DeploymentSecrets
	if err := back.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "network=00", "network=" + strings.Repeat("0", 64) + " other=" + strings.Repeat("0", 64)} {
		if err := new(seal.DeploymentSecrets).UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("UnmarshalText(%q) accepted", bad)
		}
	}

	dst := filepath.Join(t.TempDir(), "data")
	if err := back.CheckInstall(dst); err != nil {
		t.Fatal(err)
	}
	wrote, err := back.Install(dst)
	if err != nil || len(wrote) != 2 {
		t.Fatalf("Install: %v %v", wrote, err)
	}
	for _, name := range []string{seal.NetworkSecretFile, seal.SigningKeyFile} {
		a, _ := os.ReadFile(filepath.Join(src, name))
		b, _ := os.ReadFile(filepath.Join(dst, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs after install", name)
		}
		if fi, _ := os.Stat(filepath.Join(dst, name)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", name, fi.Mode().Perm())
		}
	}
	if k, err := seal.LoadSigningKey(dst, ""); err != nil || k.Public().String() != key.Public().String() {
		t.Errorf("installed signing key: %v", err)
	}
	// Installing again is a no-op; a different key is refused.
	if wrote, err := back.Install(dst); err != nil || len(wrote) != 0 {
		t.Errorf("second Install: %v %v", wrote, err)
	}
	other := t.TempDir()
	seal.LoadOrCreateNetworkSecret(other, "")
	if err := back.CheckInstall(other); !errors.Is(err, seal.ErrSecretsConflict) {
		t.Errorf("CheckInstall over another network secret: %v", err)
	}
	if _, err := back.Install(other); !errors.Is(err, seal.ErrSecretsConflict) {
		t.Errorf("Install over another network secret: %v", err)
	}
	// From the environment.
	env := strings.Repeat("ab", 32)
	e, err := seal.LoadDeploymentSecrets("", env, env)
	if err != nil {
		t.Fatal(err)
	}
	if et, _ := e.MarshalText(); string(et) != "network="+env+" signing="+env {
		t.Errorf("from environment: %s", et)
	}
}

func TestNewBackupIdentity(t *testing.T) {
	for _, classic := range []bool{false, true} {
		file, rcpt, err := seal.NewBackupIdentity(classic, time.Unix(1_800_000_000, 0))
		if err != nil {
			t.Fatal(err)
		}
		if pq := strings.HasPrefix(rcpt, "age1pq1"); pq == classic {
			t.Errorf("classic %v made recipient %.12s…", classic, rcpt)
		}
		if !strings.Contains(string(file), "# public key: "+rcpt+"\n") {
			t.Errorf("the identity file does not name its public key")
		}
		r, err := seal.ParseBackupRecipients([]string{rcpt})
		if err != nil {
			t.Fatal(err)
		}
		ids, err := seal.ParseBackupIdentities(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		w, _ := r.Encrypt(&b)
		io.WriteString(w, "x")
		w.Close()
		pr, err := ids.Decrypt(&b)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(pr); string(got) != "x" {
			t.Errorf("round trip gave %q", got)
		}
	}
}
