package audit

import (
	"os"
	"testing"
)

// TestMain makes Verify read small pages, so that the tests, with a handful
// of entries, cross page boundaries.
func TestMain(m *testing.M) {
	verifyPage = 4
	os.Exit(m.Run())
}
