package casework_test

import (
	"context"
	"sync"
	"testing"

	"github.com/salama-ke/salama/internal/casework/caseworktest"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// A caseworker's reply nudges by SMS only a survivor who chose SMS contact,
// and the nudge gets the number they typed, nothing else.
func TestReplyNudgesOnlyThoseWhoChoseSMS(t *testing.T) {
	e := caseworktest.New(t, storetest.NewDB(t, store.SQLite))
	var mu sync.Mutex
	var sent []string
	e.App.Casework.Nudge = func(_ context.Context, phone string) error {
		mu.Lock()
		sent = append(sent, phone)
		mu.Unlock()
		return nil
	}
	withPhone := e.Submit(caseworktest.Report(func(in *reporting.Input) {
		in.ContactPref, in.Phone, in.SafeTimes = "phone", "0722 111 999", "evenings"
	}))
	codeOnly := e.Submit(caseworktest.Report(nil))
	p := e.Principal("demo-caseworker")
	if err := e.App.Casework.SendMessage(e.Ctx(), p, codeOnly.Report.ID, "Habari, tuko hapa."); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 0 {
		t.Fatalf("nudged a survivor who chose contact through their code only: %v", sent)
	}
	if err := e.App.Casework.SendMessage(e.Ctx(), p, withPhone.Report.ID, "Habari, tuko hapa."); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || sent[0] != "0722 111 999" {
		t.Errorf("nudges sent: %v, want the survivor's number once", sent)
	}
}
