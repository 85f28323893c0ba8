//go:build race

package experiment_test

// raceEnabled is set when the tests run with the race detector, which
// slows the large ones down tenfold.
const raceEnabled = true
