package reporting

import (
	"context"
	"errors"
	"slices"

	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/identifiers"
	"github.com/salama-ke/salama/internal/store"
)

// prepared is what a report's evidence becomes before it is sealed:
// computed once per submission, since sealInto runs again when new ids have
// to be drawn.
type prepared struct {
	identifiers []Identifier    // as typed, with their normalised forms
	blind       []store.BlindID // the blind index; empty without consent
	displays    [][]byte        // display copy of each file; nil where none could be made
}

// prepare normalises the identifiers, computes their blind index when the
// report takes part in matching (the survivor agreed, or it is a tip), and
// makes the display copy of each screenshot and chat export.
//
// A screenshot that cannot be decoded (damaged data behind a good header)
// is kept as received without a display copy, rather than failing the whole
// report: the console says it cannot show it, the evidence bundle has it.
// When no decoding slot comes in time, the submission fails with ErrBusy
// and nothing is stored: the survivor is asked to send again.
func (s *Service) prepare(ctx context.Context, in Input) (prepared, error) {
	var p prepared
	matching := in.Kind == KindTip || in.AllowMatch
	for _, id := range in.FilledIdentifiers() {
		p.identifiers = append(p.identifiers, s.index(id, matching, &p.blind))
	}
	for _, u := range in.Files {
		var (
			ct      string
			display []byte
			err     error
		)
		switch evidence.KindOf(u.ContentType) {
		case evidence.KindImage:
			ct, display, err = s.Images.Display(ctx, u.Data)
		case evidence.KindChat:
			// The conversation, read once (when Uploads checked it, or
			// here): the console shows it from this copy and never
			// parses the export again.
			if u.conversation != nil {
				p.displays = append(p.displays, u.conversation) // already in its sealed form
				continue
			}
			ct = evidence.Conversation
			display, err = s.Images.Conversation(ctx, u.ContentType, u.Data)
		}
		// PDFs and voice notes have no display copy: nothing is made
		// from them on the server (see docs/evidence.md).
		if err != nil {
			if ctx.Err() != nil {
				return p, ctx.Err()
			}
			if errors.Is(err, evidence.ErrBusy) {
				return p, ErrBusy
			}
			display = nil
		}
		if display != nil {
			display = attachmentBytes(Upload{ContentType: ct, Data: display})
		}
		p.displays = append(p.displays, display)
	}
	return p, nil
}

// index normalises an identifier as typed and, when the report takes part
// in matching, adds its blind-index rows to blind (each row once).
func (s *Service) index(id Identifier, matching bool, blind *[]store.BlindID) Identifier {
	r := identifiers.Normalise(id.Type, id.Platform, id.Value)
	if id.Type == "" {
		id.Type = r.Type
	}
	id.Normalised, id.Flag, id.Keys = r.Normalised, r.Flag, r.Keys
	if !matching {
		return id
	}
	for _, k := range r.Keys {
		b := store.BlindID{Kind: k.Kind, Blind: s.Secret.BlindIndex(k.Kind, k.Value)}
		if !slices.ContainsFunc(*blind, func(x store.BlindID) bool { return x.Kind == b.Kind && string(x.Blind) == string(b.Blind) }) {
			*blind = append(*blind, b)
		}
	}
	return id
}
