// Package directory owns the vocabulary of Kenya's geography and of help —
// counties, needs, service types, age bands — the Service record kept in the
// network's directory, the built-in national help lines, and the matching
// that turns what a survivor said into help they can use at once (SPEC §3
// rule 4, "Help first").
//
// The help-now page after a report and the public /help page both call
// Match, so a survivor and a passer-by get the same ranking. Plan works from
// a report's structured answers only: the package never sees a report's
// sealed content (the survivor's own words, identifiers, contact details),
// and it never logs.
//
// Safety rules that hold by construction rather than by care at each call
// site:
//
//   - A child (a report about a child, or an age band under 18) never matches
//     a service for adults only. Eligibility is an allow-list of age groups,
//     so a service whose age group is missing or unknown serves no child.
//   - Match is never empty: with nothing suitable in the directory it returns
//     the free national lines (1195, and 116 first for a child).
//   - The national lines' numbers are built in. IDs starting "national." are
//     reserved, so an imported or edited service cannot pose as 1195 with
//     another number.
//
// Words live in the message catalogs internal/locale/messages/directory.*.json
// (keys: county.*, need.*, servicetype.*, ageband.*, agegroup.*, gender.*,
// language.*, service.*, helpnow.*, national.*); this package returns keys,
// enums and Services, never HTML. A help-now section's words are
// helpnow.<section>.title and helpnow.<section>.body; a body is complete on
// its own (the 72-hour and 120-hour lines are in post_rape_care.body) and may
// hold several paragraphs separated by a blank line ("\n\n"). One message
// takes a value: helpnow.services.in_county, where {0} is the county's name.
package directory
