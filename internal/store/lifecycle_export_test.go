package store

// Exported for lifecycle_test.go in package store_test.
var (
	ContentTables = contentTables
	KeptTables    = keptTables
)
