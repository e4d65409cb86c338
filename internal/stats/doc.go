// Package stats owns the network's published statistics (SPEC §5.4): which
// figures are computed from the counted reports, which are shown, and which
// are suppressed so that no published figure lets anyone pick out one
// report. It is pure computation: the store supplies grouped counts through
// Source, the web and console packages show the result.
//
// It must never publish a figure from a report whose sender did not agree
// to be counted, never show a count under k, and never publish a set of
// figures from which a suppressed count could be worked out exactly.
//
// # What is published, and why
//
// For each calendar year (East Africa Time), three two-way tables rather
// than one four-way cube nobody could read, and in which nearly every cell
// would be under k:
//
//   - month × column, where the columns are reports, each kind of harm
//     (images asked for, sextortion, advertised or sold, trafficking,
//     sexual violence, something else) and tips;
//   - county × the same columns;
//   - age band × reports and kinds of harm (a tip has no age band);
//
// each with a totals row, plus the time within which half of each month's
// reports had a first answer from a caseworker.
//
// A report can name several kinds of harm, or none, so the "reports" column
// is the number of reports, not the sum of the kinds: a row has no total a
// reader could subtract from. The relations a reader can use are the
// columns: each column of each table sums to that column's total for the
// year, the same in all three tables, and a kind of harm is named by at
// most every report of its row.
//
// Time makes the other relations. A page that changes is many pages, and
// anyone can keep the old ones:
//
//   - A month appears once it is over and never changes (only reports are
//     counted, by the day they were sent; withdrawal keeps a counted
//     report's coarse answers). A month still running would change daily,
//     and the difference between two days is one report.
//   - Totals, and the tables by county and by age band, appear only for a
//     year that is over. A running total would grow by exactly each new
//     month's row, hidden cells included. The months of the year were
//     shown as they ended, so when the year closes they cannot be hidden
//     any more (Table.Frozen): only the last month, first shown then, and
//     the totals may take complementary suppression.
//   - Changing k changes what is suppressed: two pages with different k
//     show together more than either. Choose k once.
//
// # How suppression works
//
// Protect marks every figure under k Small ("<k", zeros too: "0" would say
// "<k" means at least one), then adds complementary suppression (Hidden,
// "x") until no Small figure holding a report can be worked out exactly
// from everything a reader knows (see audit.go). A figure is safe when a
// witness exists: another assignment of all suppressed figures, within
// their bounds, keeping every relation, with that figure different. The
// search for witnesses is bounded and errs only towards hiding more. The
// tests check the result against an exhaustive search on small tables.
//
// The textbook rule — when a line with a published total has exactly one
// suppressed cell, suppress another — is the first step of this and not
// enough on its own: two suppressed cells whose sum is known and whose
// bounds are both "<5" are pinned when the sum is 8, and a hidden cell
// bounded by its row's reports can be pinned the same way. The tests show
// both.
//
// What is not modelled: a reader who reasons about the procedure itself
// (why this cell was hidden and not that one), and one who combines the
// three tables at the level of single reports (the three tables are views
// of one set of reports, which constrains them beyond their shared
// totals). Both are the usual limits of cell suppression; coarse tables,
// closed periods and k are the defence there.
package stats
