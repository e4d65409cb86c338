package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// seedDirectory stores the demo network's organisations (without keys: the
// directory commands need none) and services.
func seedDirectory(t *testing.T, db storetest.DB) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, db.DSN, db.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Unix(1_800_000_000, 0)
	for _, o := range directory.DemoNetwork() {
		if err := st.CreateOrganisation(ctx, &store.Organisation{ID: o.Slug, Name: o.Name, Intake: o.Intake, PublicKey: "age1test", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		for _, s := range o.Services {
			if err := directory.Put(ctx, st, s, now); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func servicesIn(t *testing.T, db storetest.DB) map[string]directory.Service {
	t.Helper()
	st, err := store.Open(context.Background(), db.DSN, db.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svcs, err := directory.Stored(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]directory.Service{}
	for _, s := range svcs {
		out[s.ID] = s
	}
	return out
}

func TestDirectoryExportImport(t *testing.T) {
	for _, v := range []string{"SALAMA_SIGNING_KEY", "SALAMA_NETWORK_SECRET", "SALAMA_DATA", "SALAMA_DATABASE"} {
		t.Setenv(v, "")
	}
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		dataDir := db.DataDir
		if dataDir == "" {
			dataDir = t.TempDir() // the signing key, for the audit log
		}
		flags := []string{"--data", dataDir}
		if db.DSN != "" {
			flags = append(flags, "--database", db.DSN)
		}
		dir := t.TempDir()
		if db.DSN == "" {
			// Without a database, nothing is created.
			if code, _, stderr := run(append([]string{"directory", "export"}, flags...)...); code != 1 || !strings.Contains(stderr, "no database") {
				t.Fatalf("export without a database: %d %q", code, stderr)
			}
		}
		seedDirectory(t, db)

		// export → import → export: nothing changes, byte for byte.
		first := filepath.Join(dir, "first.yaml")
		if code, _, stderr := run(append([]string{"directory", "export", "--to", first}, flags...)...); code != 0 {
			t.Fatalf("export: %d %s", code, stderr)
		}
		code, stdout, stderr := run(append(append([]string{"directory", "import"}, flags...), first)...)
		if code != 0 || !strings.Contains(stdout, "Nothing to change.") || !strings.Contains(stdout, "0 added, 0 changed, 0 removed, 5 unchanged") {
			t.Fatalf("import of own export: %d\n%s\n%s", code, stdout, stderr)
		}
		code, second, stderr := run(append([]string{"directory", "export"}, flags...)...)
		if code != 0 {
			t.Fatalf("export to stdout: %d %s", code, stderr)
		}
		want, _ := os.ReadFile(first)
		if second != string(want) {
			t.Fatalf("export → import → export differs:\n%s\n----\n%s", want, second)
		}

		// An edited file: a number changed, a service removed, one added.
		edited := strings.Replace(string(want), `phone: 0700 000 012`, `phone: 0700 000 099`, 1)
		edited = removeService(t, edited, "demo-trust-livelihoods")
		edited = strings.Replace(edited, "  - id: example-intake\n    name: Example Intake Network (demo)\n    services:\n",
			"  - id: example-intake\n    name: Example Intake Network (demo)\n    services:\n"+
				"      - id: intake-new-desk\n        name: New Desk\n        type: police_desk\n        counties: [turkana]\n        ages: all\n        channels: {phone: 0700 000 077}\n        child_protection: true\n", 1)
		// The coordinator's child-protection mark goes with the file both
		// ways: taken off the Kisumu centre, given to the new desk.
		kisumu := strings.Index(edited, "id: demo-child-protection-kisumu")
		mark := strings.Index(edited[kisumu:], "        child_protection: true\n")
		if kisumu < 0 || mark < 0 {
			t.Fatalf("the export does not carry the Kisumu centre's mark:\n%s", edited)
		}
		edited = edited[:kisumu+mark] + edited[kisumu+mark+len("        child_protection: true\n"):]
		file := filepath.Join(dir, "edited.yaml")
		os.WriteFile(file, []byte(edited), 0o644)

		before := servicesIn(t, db)
		code, stdout, stderr = run(append(append([]string{"directory", "import", "--dry-run"}, flags...), file)...)
		if code != 0 {
			t.Fatalf("dry run: %d %s", code, stderr)
		}
		for _, w := range []string{"+ intake-new-desk", "~ demo-child-protection-kisumu  channels, child_protection", "- demo-trust-livelihoods", "Dry run: 3 changes checked, nothing changed."} {
			if !strings.Contains(stdout, w) {
				t.Errorf("dry run lacks %q:\n%s", w, stdout)
			}
		}
		if after := servicesIn(t, db); len(after) != len(before) || after["demo-child-protection-kisumu"].Channels.Phone != "0700 000 012" {
			t.Fatal("the dry run changed the directory")
		}

		// The file's flags may follow its name.
		code, stdout, stderr = run(append([]string{"directory", "import", file}, flags...)...)
		if code != 0 || !strings.Contains(stdout, "Imported: 3 changes.") {
			t.Fatalf("import: %d\n%s\n%s", code, stdout, stderr)
		}
		after := servicesIn(t, db)
		if _, ok := after["demo-trust-livelihoods"]; ok || after["demo-child-protection-kisumu"].Channels.Phone != "0700 000 099" ||
			after["intake-new-desk"].OrgID != "example-intake" || len(after) != len(before) ||
			!after["intake-new-desk"].ChildProtection || after["demo-child-protection-kisumu"].ChildProtection || !after["demo-child-protection-nairobi"].ChildProtection {
			t.Errorf("after import: %d services, %+v", len(after), after["intake-new-desk"])
		}
		code, stdout, _ = run(append([]string{"audit", "verify"}, flags...)...)
		if code != 0 || !strings.Contains(stdout, "3 entries") {
			t.Errorf("audit after import (one entry per organisation changed): %d %s", code, stdout)
		}

		// A file with problems: each named FILE:LINE, nothing imported.
		bad := strings.Replace(edited, "counties: [turkana]", "counties: [turkana, gotham]", 1)
		bad = strings.Replace(bad, "version: 1\n", "version: 1\nextra: true\n", 1)
		os.WriteFile(file, []byte(bad), 0o644)
		code, stdout, stderr = run(append(append([]string{"directory", "import"}, flags...), file)...)
		for _, w := range []string{file + ":" + lineOf(bad, "extra: true") + `: unknown key "extra"`,
			file + ":" + lineOf(bad, "gotham") + `: service "intake-new-desk": counties[1]: unknown county`,
			"2 problems in the file; nothing was imported"} {
			if !strings.Contains(stderr, w) {
				t.Errorf("bad file: stderr lacks %q:\n%s", w, stderr)
			}
		}
		if code != 1 || stdout != "" {
			t.Errorf("bad file: exit %d, stdout %q", code, stdout)
		}
		// An organisation the database does not have.
		os.WriteFile(file, []byte("version: 1\norganisations:\n  - id: org-nowhere\n    name: Nowhere\n    services: []\n"), 0o644)
		code, _, stderr = run(append(append([]string{"directory", "import"}, flags...), file)...)
		if code != 1 || !strings.Contains(stderr, file+`:3: id: there is no organisation "org-nowhere"`) {
			t.Errorf("unknown organisation: %d %s", code, stderr)
		}
		if got := servicesIn(t, db); len(got) != len(after) {
			t.Error("a refused import changed the directory")
		}
	})
}

// removeService cuts one service's lines out of an exported file.
func removeService(t *testing.T, file, id string) string {
	t.Helper()
	lines := strings.SplitAfter(file, "\n")
	var out []string
	skipping := false
	for _, l := range lines {
		switch {
		case l == "      - id: "+id+"\n":
			skipping = true
			continue
		case skipping && (strings.HasPrefix(l, "      - id: ") || strings.HasPrefix(l, "  - id: ")):
			skipping = false
		}
		if !skipping {
			out = append(out, l)
		}
	}
	if len(out) == len(lines) {
		t.Fatalf("no service %s in the file", id)
	}
	return strings.Join(out, "")
}

// lineOf is the number of the first line containing text.
func lineOf(file, text string) string {
	for i, l := range strings.Split(file, "\n") {
		if strings.Contains(l, text) {
			return strconv.Itoa(i + 1)
		}
	}
	return "?"
}
