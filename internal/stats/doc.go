// Package stats owns the network's published statistics (SPEC §5.4): which
// figures are computed from the counted reports, which are shown, which are
// suppressed so that no published figure narrows down a small count, and
// the record of what has been published. The store supplies grouped counts
// and keeps the records (Source, Ledger); the web and console packages
// show the pages. docs/statistics.md is the design for a reader; this is
// its summary for a programmer.
//
// It must never publish a figure from a report whose sender did not agree
// to be counted, never show a count under k, never publish a set of
// figures from which anyone can prove a suppressed count holding a report
// is other than anything from 0 to k−1, and never change a figure once
// shown.
//
// # What is published
//
// For each calendar year (East Africa Time): the month table (reports,
// each kind of harm, tips, and the time within which half the month's
// reports had a first answer), and once the year is over its totals, the
// county and age-band tables and the referrals by type of service (made,
// accepted, declined, completed). A report can name several kinds of harm,
// or none, so a row has no total a reader could subtract from.
//
// # Suppression: the interval audit
//
// Every figure under k is shown as "<k" (zeros too). A reader who takes
// every table of a year, in every language and format, can write them down
// as one integer system: each figure bounded by how it is shown, each
// column of the month, county and age tables summing to the same total, a
// kind of harm named by at most every report of its row, a referral
// accepted or declined at most once, and the first month ever shown
// holding a report or a tip. Protect (protect.go) adds complementary
// suppression ("x") until, in that system, every "<k" figure holding a
// report can be 0 and can be k−1 (audit.go), which an exact solver
// decides (lp.go: linear programming and branch and bound, solutions
// checked in integer arithmetic). When no more can be hidden, Build
// publishes less: the year without totals, then the month table alone.
//
// # Time
//
// A page that changes is many pages. Each month is published once, the
// first time a page is asked for after it ends, and stored with its counts
// by county and age band (record.go); the year is published whole once it
// is over, its months as first shown. Every page is then shown from the
// records. An open year never shows totals (they would grow by each new
// month, hidden cells included). The threshold k of each publication is
// recorded; publishing with another needs the operator's confirmation
// (SettleK), since two thresholds together tell more than either.
//
// What is not modelled: a reader who reasons about the procedure itself
// (why this cell was hidden and not that one), and one who combines the
// tables at the level of single reports (a report is one row of each
// table at once, which constrains the tables beyond their shared totals).
// Both are the usual limits of cell suppression; coarse tables, closed
// periods and k are the defence there.
package stats
