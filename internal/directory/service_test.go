package directory

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func validService() Service {
	return Service{
		ID: "org-a.counselling", OrgID: "org-a", Name: "Counselling Rooms",
		Description: Text{EN: "Counselling.\nWalk in or call.", SW: "Ushauri nasaha."},
		Type:        TypeCounselling, Counties: []string{"nairobi", "kisumu"}, Ages: AgesAll,
		Genders: []Gender{GenderFemale}, Languages: []string{"en", "sw"},
		Hours:    Text{EN: "Weekdays"},
		Channels: Channels{Phone: "+254 700 000 001", Website: "https://example.org/help?x=1"},
	}
}

func TestValidate(t *testing.T) {
	if err := validService().Validate(); err != nil {
		t.Fatalf("valid service: %v", err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Service)
		field string
	}{
		{"no id", func(s *Service) { s.ID = "" }, "id"},
		{"upper-case id", func(s *Service) { s.ID = "Org-A" }, "id"},
		{"id starts with dot", func(s *Service) { s.ID = ".a" }, "id"},
		{"id too long", func(s *Service) { s.ID = strings.Repeat("a", 65) }, "id"},
		{"poses as a national line", func(s *Service) { s.ID = LineGBV1195 }, "id"},
		{"reserved prefix", func(s *Service) { s.ID = "national.fake" }, "id"},
		{"no org", func(s *Service) { s.OrgID = "" }, "org_id"},
		{"no name", func(s *Service) { s.Name = "  " }, "name"},
		{"name with newline", func(s *Service) { s.Name = "a\nb" }, "name"},
		{"name with bidi override", func(s *Service) { s.Name = "abc\u202e" }, "name"},
		{"name too long", func(s *Service) { s.Name = strings.Repeat("é", 121) }, "name"},
		{"bad utf-8", func(s *Service) { s.Description.SW = "\xff" }, "description.sw"},
		{"description too long", func(s *Service) { s.Description.EN = strings.Repeat("x", 601) }, "description.en"},
		{"unknown type", func(s *Service) { s.Type = "massage" }, "type"},
		{"no type", func(s *Service) { s.Type = "" }, "type"},
		{"unknown county", func(s *Service) { s.Counties = []string{"nairobi", "gotham"} }, "counties[1]"},
		{"outside is not a county", func(s *Service) { s.Counties = []string{"outside"} }, "counties[0]"},
		{"county twice", func(s *Service) { s.Counties = []string{"nairobi", "nairobi"} }, "counties[1]"},
		{"nowhere", func(s *Service) { s.Counties = nil }, "counties"},
		{"no age group", func(s *Service) { s.Ages = "" }, "ages"},
		{"age group misspelt", func(s *Service) { s.Ages = "adult" }, "ages"},
		{"unknown gender", func(s *Service) { s.Genders = []Gender{"women"} }, "genders[0]"},
		{"unknown language", func(s *Service) { s.Languages = []string{"en", "xx"} }, "languages[1]"},
		{"language twice", func(s *Service) { s.Languages = []string{"sw", "sw"} }, "languages[1]"},
		{"hours control", func(s *Service) { s.Hours.SW = "a\tb" }, "hours.sw"},
		{"cost too long", func(s *Service) { s.Cost.EN = strings.Repeat("x", 201) }, "cost.en"},
		{"no channel", func(s *Service) { s.Channels = Channels{} }, "channels"},
		{"phone letters", func(s *Service) { s.Channels.Phone = "call Amina" }, "channels.phone"},
		{"phone too short", func(s *Service) { s.Channels.Phone = "12" }, "channels.phone"},
		{"sms letters", func(s *Service) { s.Channels.SMS = "0700x" }, "channels.sms"},
		{"whatsapp link", func(s *Service) { s.Channels.WhatsApp = "wa.me/254700" }, "channels.whatsapp"},
		{"walk-in newline", func(s *Service) { s.Channels.WalkIn.EN = "a\nb" }, "channels.walk_in.en"},
		{"javascript website", func(s *Service) { s.Channels.Website = "javascript:alert(1)" }, "channels.website"},
		{"data website", func(s *Service) { s.Channels.Website = "data:text/html,x" }, "channels.website"},
		{"website with quote", func(s *Service) { s.Channels.Website = `example.org/"onmouseover` }, "channels.website"},
		{"website with space", func(s *Service) { s.Channels.Website = "example .org" }, "channels.website"},
		{"website no dot", func(s *Service) { s.Channels.Website = "localhost" }, "channels.website"},
		{"website ftp", func(s *Service) { s.Channels.Website = "ftp://example.org" }, "channels.website"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validService()
			tc.edit(&s)
			err := s.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError on %s", err, tc.field)
			}
			if fe.Field != tc.field {
				t.Errorf("field %q (%s), want %q", fe.Field, fe.Problem, tc.field)
			}
		})
	}
	// National without counties is fine, and so is national with offices.
	s := validService()
	s.Counties, s.National = nil, true
	if err := s.Validate(); err != nil {
		t.Errorf("national service: %v", err)
	}
	s.Counties = []string{"mombasa"}
	if err := s.Validate(); err != nil {
		t.Errorf("national service with an office: %v", err)
	}
	for _, w := range []string{"stopncii.org", "HTTP://Example.ORG", "example.org/a/b?c=d#e", "sub.example-site.co.ke/"} {
		s := validService()
		s.Channels.Website = w
		if err := s.Validate(); err != nil {
			t.Errorf("website %q: %v", w, err)
		}
	}
}

func TestBuiltinsValidateAndCannotBeSpoofed(t *testing.T) {
	all := append(NationalLines(), OnlineImageTools()...)
	for _, s := range all {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.ID, err)
		}
		if key, ok := s.CatalogKey(); !ok || key != s.ID {
			t.Errorf("%s: CatalogKey = %q, %v", s.ID, key, ok)
		}
		// A copy that went through the store is still the line.
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Service
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if _, ok := back.CatalogKey(); !ok {
			t.Errorf("%s: lost its identity in JSON: %s", s.ID, b)
		}
		// A copy with another number is not.
		fake := s
		fake.Channels.Phone = "0700 123 456"
		if err := fake.Validate(); err == nil {
			t.Errorf("%s with another phone number validated", s.ID)
		}
		if _, ok := fake.CatalogKey(); ok {
			t.Errorf("%s with another phone number kept the line's catalog key", s.ID)
		}
	}
	want := map[string]string{
		LinePolice999: "999", LineEmergency112: "112", LineGBV1195: "1195", LineChildline116: "116",
	}
	lines := NationalLines()
	if len(lines) != len(want) {
		t.Fatalf("%d national lines", len(lines))
	}
	for _, l := range lines {
		if want[l.ID] != l.Channels.Phone || !l.Free || !l.National {
			t.Errorf("%s: phone %q free %v national %v", l.ID, l.Channels.Phone, l.Free, l.National)
		}
	}
	tools := ImageRemovalTools()
	if tools[0].Channels.Website != "takeitdown.ncmec.org" || tools[1].Channels.Website != "stopncii.org" {
		t.Errorf("image tools: %+v", tools)
	}
	if tools[1].Ages.ServesChildren() {
		t.Error("StopNCII must not be offered to a child")
	}
	if iwf := ChildImageReporting(); len(iwf) != 1 || iwf[0].Channels.Website != "report.iwf.org.uk" || !iwf[0].Ages.ServesChildren() {
		t.Errorf("IWF portal: %+v", iwf)
	}
	if got := ids(OnlineImageTools()); !slices.Equal(got, []string{ToolTakeItDown, ToolStopNCII, ToolIWF}) {
		t.Errorf("online image tools %v", got)
	}
	lines[0].Languages[0] = "xx"
	if NationalLines()[0].Languages[0] != "en" {
		t.Error("NationalLines shares its slices")
	}
}

func TestServiceJSON(t *testing.T) {
	s := validService()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"id"`, `"org_id"`, `"type"`, `"ages"`, `"channels"`, `"counties"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON lacks %s: %s", field, b)
		}
	}
	var back Service
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !sameService(s, back) {
		t.Errorf("round trip changed the service:\n%+v\n%+v", s, back)
	}
}

func TestTextIn(t *testing.T) {
	for _, tc := range []struct {
		t          Text
		lang, want string
	}{
		{Text{EN: "a", SW: "b"}, "sw", "b"},
		{Text{EN: "a", SW: "b"}, "en", "a"},
		{Text{EN: "a"}, "sw", "a"},
		{Text{SW: "b"}, "en", "b"},
		{Text{}, "sw", ""},
	} {
		if got := tc.t.In(tc.lang); got != tc.want {
			t.Errorf("%+v.In(%s) = %q", tc.t, tc.lang, got)
		}
	}
}
