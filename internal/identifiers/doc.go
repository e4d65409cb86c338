// Package identifiers owns how a phone number, a username or a link that a
// survivor or a bystander typed becomes the one canonical form that the
// blind index is computed over (SPEC §5.2), so that "0712 345 678" in one
// report and "+254712345678" in another are recognised as the same pimp's
// number.
//
// Why it is careful: adverts are copied by hand, from screenshots, by people
// in a hurry, and the people posting them disguise numbers to get past
// platform filters (a letter O for a zero, full-width digits, a number split
// by dots). A normaliser that is too loose links strangers; one that is too
// strict misses the same number written twice. The rules here are the
// narrowest that still join what people actually write:
//
//   - phone numbers go to E.164 with Kenya as the default region, through
//     libphonenumber's metadata (github.com/nyaruka/phonenumbers), which
//     knows every country's numbering plan, including the ranges Kenya added
//     (01xx). A number of the right length in no known range is still
//     matched but flagged "unverified"; anything else is kept as typed,
//     flagged, and not matched;
//   - usernames are lower-cased without the leading @, per platform: every
//     platform in the form treats usernames case-insensitively, Facebook
//     also ignores dots; a WhatsApp "username" is normally a phone number,
//     and a Telegram one that starts with a digit or + is one;
//   - links get a lower-case host without www., one scheme, no fragment and
//     no tracking parameters (utm_*, fbclid, igshid, si …); WhatsApp and
//     Telegram invite links are kept whole (their codes are case-sensitive);
//     a link to a profile also yields that username, and a wa.me link the
//     phone number, so a link and a typed handle match.
//
// What it must never do: log, touch the network, or look anything up. It
// sees plaintext identifiers; only their keyed hash (seal.NetworkSecret's
// BlindIndex) ever leaves the report sealed.
package identifiers
