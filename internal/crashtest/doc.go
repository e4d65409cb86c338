// Package crashtest kills a real Salama server with SIGKILL while it takes
// reports, restarts it, and checks SPEC §8's promise: every receipt that
// reached a survivor opens their report intact, and no half-written report
// exists. It builds the salama binary and runs `salama serve --demo` as an
// operator would, with the production argon2id parameters, on SQLite and,
// when SALAMA_TEST_POSTGRES_URL is set, on PostgreSQL.
//
// The package has tests only.
package crashtest
