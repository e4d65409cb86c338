package store_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The store is a leaf: features depend on it, never the other way round
// (a store that knew the directory's or the statistics' types would make
// every change to them a change to the SQL layer). Its shipped code may
// import the standard library, database drivers and internal/seal, nothing
// else of Salama.
func TestStoreImportsNoFeature(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"github.com/salama-ke/salama/internal/seal": true}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/salama-ke/salama/") && !allowed[path] {
				t.Errorf("%s imports %s: the store must not depend on a feature package", f, path)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d files", checked)
	}
}
