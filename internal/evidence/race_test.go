//go:build race

package evidence

// raceEnabled: the race detector's instrumentation changes what the
// encoders allocate, so allocation figures are checked without it only.
const raceEnabled = true
