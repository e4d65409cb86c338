// Package docs holds Salama's documentation. Its only code is this test,
// which keeps the documentation honest about the tree: every package in the
// code map, every link pointing somewhere that exists, and a README that
// stays short and starts with the two commands.
package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// root is the repository, seen from this directory.
const root = ".."

// TestCodeMapNamesEveryPackage fails when a directory under internal/ or
// cmd/ holding Go code is missing from the code map in development.md, or
// when the map names one that no longer exists.
func TestCodeMapNamesEveryPackage(t *testing.T) {
	text := read(t, "development.md")
	i := strings.Index(text, "## Code map")
	if i < 0 {
		t.Fatal("development.md has no \"## Code map\" section")
	}
	section := text[i+len("## Code map"):]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	mapped := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `((?:cmd|internal)/[a-z0-9_/]+)` \\|").FindAllStringSubmatch(section, -1) {
		mapped[m[1]] = true
	}
	packages := map[string]bool{}
	for _, top := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".go") {
				rel, _ := filepath.Rel(root, filepath.Dir(path))
				packages[filepath.ToSlash(rel)] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(packages) < 10 {
		t.Fatalf("found only %d packages: is the test running from docs/?", len(packages))
	}
	for p := range packages {
		if !mapped[p] {
			t.Errorf("package %s is missing from the code map in docs/development.md", p)
		}
	}
	for p := range mapped {
		if !packages[p] {
			t.Errorf("the code map names %s, which holds no Go code", p)
		}
	}
}

// linkRE matches a Markdown link or image target: [text](target) or
// src="target".
var linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)|src="([^"]+)"`)

// TestLinksResolve fails when a relative link in the README or a document
// names a file that does not exist, or a heading the file does not have.
func TestLinksResolve(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "README.md"))
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body := stripCode(string(text))
		for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
			target := m[1] + m[2]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			dest := f
			if path != "" {
				dest = filepath.Join(filepath.Dir(f), path)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s links to %s, which does not exist", f, target)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(dest, ".md") {
				if !headings(t, dest)[anchor] {
					t.Errorf("%s links to %s, but %s has no heading with that anchor", f, target, dest)
				}
			}
		}
	}
}

// TestREADMEIsShortAndStartsWithTheCommands keeps the README what a
// newcomer reads first: what Salama is, then the command that runs it and
// the one that tests it, and no manual (that is in docs/).
func TestREADMEIsShortAndStartsWithTheCommands(t *testing.T) {
	text := read(t, filepath.Join(root, "README.md"))
	lines := strings.Count(text, "\n")
	if lines > 150 {
		t.Errorf("README.md is %d lines: keep it under 150 and move detail into docs/", lines)
	}
	first := strings.Index(text, "```sh\n")
	if first < 0 {
		t.Fatal("README.md has no sh block")
	}
	block := text[first+len("```sh\n"):]
	block = block[:strings.Index(block, "```")]
	want := []string{"go run ./cmd/salama serve --demo", "go test -race -count=1 ./..."}
	got := strings.Split(strings.TrimSpace(block), "\n")
	if len(got) != len(want) {
		t.Fatalf("README's first block has %d lines, want the two commands:\n%s", len(got), block)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("README's first block, line %d: %q, want it to start with %q", i+1, got[i], w)
		}
	}
	ci := read(t, filepath.Join(root, ".ci", "run"))
	if !strings.Contains(ci, "go test -race -count=1") {
		t.Error(".ci/run does not run the README's test command")
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stripCode removes fenced code blocks and inline code, where brackets are
// not links.
func stripCode(s string) string {
	s = regexp.MustCompile("(?s)```.*?```").ReplaceAllString(s, "")
	return regexp.MustCompile("`[^`\n]*`").ReplaceAllString(s, "")
}

// headings returns the anchors GitHub gives a Markdown file's headings:
// lower case, punctuation dropped, spaces to hyphens, repeats numbered.
func headings(t *testing.T, path string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	drop := regexp.MustCompile(`[^\p{L}\p{N}\- _]`)
	text := regexp.MustCompile("(?s)```.*?```").ReplaceAllString(read(t, path), "")
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		slug := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(title), ""), " ", "-")
		if n := seen[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}
